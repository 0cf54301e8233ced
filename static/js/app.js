// The project's own behaviour, nothing third-party: a confirmation window, copy buttons,
// toasts that fade, and key/value header rows. Everything works without it except the niceties.
(function () {
  "use strict";

  // `label`: the button that asked ("Delete", "Clear"), so the window's button says what it does.
  function ask(question, proceed, label) {
    const dialog = document.getElementById("confirm-dialog");
    if (!dialog || !dialog.showModal) { if (window.confirm(question)) proceed(); return; }
    document.getElementById("confirm-text").textContent = question;
    label = (label || "").trim();  // an icon button ("✕") says nothing: then "Proceed"
    document.getElementById("confirm-ok").textContent = /[A-Za-z]/.test(label) && label.length <= 24 ? label : "Proceed";
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "ok") proceed();
    });
    dialog.showModal();
  }

  // htmx requests with hx-confirm open our window instead of the browser's.
  document.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.question) return;
    event.preventDefault();
    const button = event.detail.elt.querySelector ? event.detail.elt.querySelector("button[type=submit], button:not([type])") : null;
    ask(event.detail.question, function () { event.detail.issueRequest(true); }, button && button.textContent);
  });

  // Plain forms marked data-confirm (deletes, token regeneration, clear data).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.dataset || !form.dataset.confirm || form.dataset.confirmed) return;
    event.preventDefault();
    ask(form.dataset.confirm, function () { form.dataset.confirmed = "1"; form.requestSubmit(event.submitter); },
        event.submitter && event.submitter.textContent);
  }, true);

  document.addEventListener("click", function (event) {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const source = document.getElementById(copy.dataset.copy);
      const text = source ? (source.value || source.textContent) : "";
      const done = function () { copy.textContent = "Copied"; setTimeout(function () { copy.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done);
      } else {  // plain http on a LAN: the clipboard API is unavailable, select for a manual copy
        const range = document.createRange(); range.selectNodeContents(source);
        const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
        try { document.execCommand("copy"); done(); } catch (e) { /* selected: the user copies */ }
      }
      return;
    }
    const add = event.target.closest("[data-add-row]");
    if (add) {
      const rows = document.getElementById(add.dataset.addRow);
      const template = rows.querySelector("template");
      rows.insertBefore(template.content.cloneNode(true), template);
      return;
    }
    const remove = event.target.closest("[data-remove-row]");
    if (remove) remove.closest(".kv-row").remove();
  });

  // A part that refreshes itself (hx-trigger="every Ns") would close a "show more" the user
  // opened: skip its refresh while one is open.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.elt;
    if (elt && elt.querySelector && elt.querySelector("details.more[open]")) event.preventDefault();
  });
  // Form parts that matter only for some choices (the alarm rule form): data-show-when holds
  // "field:value value|other:value" conditions; the part shows when every one holds.
  function showWhen() {
    document.querySelectorAll("[data-show-when]").forEach(function (part) {
      part.hidden = !part.dataset.showWhen.split("|").every(function (condition) {
        const [name, values] = condition.split(":");
        const input = document.getElementById("id_" + name);
        return !input || values.split(" ").indexOf(input.value) >= 0;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", showWhen);
  document.addEventListener("change", showWhen);

  // Toasts leave after a while; new ones arrive by htmx out-of-band swaps.
  function fade(root) {
    (root || document).querySelectorAll(".toast:not([data-fading])").forEach(function (toast) {
      toast.dataset.fading = "1";
      setTimeout(function () { toast.classList.add("gone"); }, 5000);
      setTimeout(function () { toast.remove(); }, 5600);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { fade(); });
  document.addEventListener("htmx:oobAfterSwap", function () { fade(); });
  document.addEventListener("htmx:afterSettle", function () { fade(); });
})();
