// Builds the co-browsing bundles into the Python package data (run by
// scripts/setup.sh through `npm run build`; the outputs are git-ignored):
//   frontend/src/cobrowse-customer.js -> plugin/vidline/widget/static/cobrowse.js
//   frontend/src/cobrowse-agent.js    -> agent_panel/static/cobrowse.js (+ cobrowse.css)
import { build } from "esbuild";
import { copyFile } from "node:fs/promises";

const common = {
  bundle: true,
  format: "iife",
  minify: true,
  target: ["chrome100", "firefox100", "safari15"],
  legalComments: "eof", // rrweb's MIT notice stays in the bundle
  logLevel: "warning",
};

await Promise.all([
  build({ ...common, entryPoints: ["frontend/src/cobrowse-customer.js"],
          outfile: "plugin/vidline/widget/static/cobrowse.js" }),
  build({ ...common, entryPoints: ["frontend/src/cobrowse-agent.js"],
          outfile: "agent_panel/static/cobrowse.js" }),
  copyFile("node_modules/rrweb/dist/style.css", "agent_panel/static/cobrowse.css"),
]);
