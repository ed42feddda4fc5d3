/**
 * The import rule of `npm test` (scripts/check-imports.ts): outside sdk/, the SDK is imported by its package name.
 */
import path from "node:path";

import { expect } from "chai";

import { ROOT, badImports, checkRepository, sdkEntries } from "../scripts/check-imports.js";

describe("import rule: apps and tests import @perp/sdk by name", function () {
  const entries = sdkEntries();
  const file = path.join(ROOT, "scripts", "cli", "example.ts");
  // Built from parts, so that this test file does not itself hold an offending import.
  const viaPath = ["..", "..", "sdk", "src", "math.js"].join("/");

  it("holds for every file of the repository outside sdk/", function () {
    expect(checkRepository().map((b) => `${path.relative(ROOT, b.file)}:${b.line} ${b.specifier}`)).to.deep.equal([]);
  });

  it("names the exported entries of sdk/package.json", function () {
    expect(entries).to.include.members(["@perp/sdk", "@perp/sdk/node"]);
  });

  it("flags an import of sdk/src by relative path, static or dynamic, with its line", function () {
    const text = `import { x } from "./format.js";\nimport { math } from "${viaPath}";\nconst m = await import("${viaPath}");\n`;
    expect(badImports(file, text, entries).map((b) => [b.line, b.specifier])).to.deep.equal([
      [2, viaPath],
      [3, viaPath],
    ]);
  });

  it("flags a package subpath that the exports map does not list", function () {
    const internal = ["@perp", "sdk", "client"].join("/");
    const [bad] = badImports(file, `export { a } from "${internal}";\n`, entries);
    expect(bad.specifier).to.equal(internal);
    expect(bad.reason).to.match(/not an entry of sdk\/package.json "exports"/);
  });

  it("accepts the package name and its exported entries", function () {
    const text = entries.map((entry, i) => `import * as e${i} from "${entry}";`).join("\n");
    expect(badImports(file, text, entries)).to.deep.equal([]);
  });
});
