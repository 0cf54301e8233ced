"""What an admin change page posts when saved as shown: the base for tests that change one field."""


def shown(client, url):
    """What the admin page at `url` posts as shown."""
    context = client.get(url).context
    forms = [context["adminform"].form]
    for inline in context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, str | list[str]] = {}
    for form in forms:
        for name, field in form.fields.items():
            value, key = form[name].value(), form[name].html_name
            if isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, list):
                data[key] = [str(v) for v in value]
            elif value is not None:
                data[key] = value if isinstance(value, str) else field.widget.format_value(value)
    return data
