// Builds the front-end bundles into the Python package data (run by
// scripts/setup.sh through `npm run build`; the outputs are git-ignored):
//   frontend/src/widget/main.js       -> plugin/vidline/widget/static/vidline.js
//   frontend/src/cobrowse-customer.js -> plugin/vidline/widget/static/cobrowse.js
//   frontend/src/cobrowse-agent.js    -> agent_panel/static/cobrowse.js (+ cobrowse.css)
import { build } from "esbuild";
import { copyFile, readFile } from "node:fs/promises";

const common = {
  bundle: true,
  format: "iife",
  minify: true,
  target: ["chrome100", "firefox100", "safari15"],
  legalComments: "eof", // rrweb's MIT notice stays in the bundle
  logLevel: "warning",
};

// the customer widget: the header comment of its entry module (ids, data-
// attributes, the JS API; integrators and browser tests read it) tops the
// bundle; not minified, so what a site embeds stays readable
const WIDGET = "frontend/src/widget/main.js";
const header = (await readFile(WIDGET, "utf8")).match(/^\/\*[\s\S]*?\*\//)[0];

await Promise.all([
  build({ ...common, entryPoints: [WIDGET], outfile: "plugin/vidline/widget/static/vidline.js",
          minify: false, legalComments: "none", banner: { js: header + "\n\"use strict\";" } }),
  build({ ...common, entryPoints: ["frontend/src/cobrowse-customer.js"],
          outfile: "plugin/vidline/widget/static/cobrowse.js" }),
  build({ ...common, entryPoints: ["frontend/src/cobrowse-agent.js"],
          outfile: "agent_panel/static/cobrowse.js" }),
  copyFile("node_modules/rrweb/dist/style.css", "agent_panel/static/cobrowse.css"),
]);
