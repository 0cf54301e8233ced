// Node-RED settings for bench_servers.py's `nodered` server: the flow in flow.json, no editor, no
// admin API, listening on 127.0.0.1 (the port comes from `--port`, the user directory from
// `--userDir`, both set by the benchmark). DATABASE_URL is the benchmark database; the flow's
// function nodes share one pg pool of 8 connections (global.get("pool")).
const path = require("path");
const crypto = require("crypto");
const { Pool } = require("pg");

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 8 });
pool.on("error", (err) => console.error("pg pool:", err.message)); // an idle client lost: logged, not fatal

module.exports = {
    uiHost: "127.0.0.1",
    uiPort: 1880,
    flowFile: path.join(__dirname, "flow.json"),
    flowFilePretty: true,
    credentialSecret: false,
    httpAdminRoot: false, // no editor and no admin API: nothing can deploy over flow.json
    functionGlobalContext: { pool, crypto },
    functionExternalModules: false,
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    logging: { console: { level: "info", metrics: false, audit: false } },
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    telemetry: { enabled: false },
    editorTheme: { tours: false },
};
