// Bundles every entry point in webapp/assets/ (each `*.js` but this script) into webapp/static/build/,
// and copies axe-core there for the accessibility tests. Run by `make assets`; the output is not committed.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "build");
mkdirSync(out, { recursive: true });

const entries = readdirSync(here)
  .filter((name) => name.endsWith(".js"))
  .map((name) => join(here, name));

if (entries.length > 0) {
  await build({
    entryPoints: entries,
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    outdir: out,
    logLevel: "warning",
  });
}
copyFileSync(join(here, "..", "..", "node_modules", "axe-core", "axe.min.js"), join(out, "axe.min.js"));
