#!/usr/bin/env node
// Compile nft/contracts/*.sol with the pinned npm `solc` (standard-JSON API) into
// nft/contracts/build/<Contract>.json: abi + bytecode + compiler version + settings.
//
//   node nft/contracts/compile.js [--out-dir DIR]
//
// Imports of `@openzeppelin/...` resolve from NODE_MODULES_DIR (default: .local/tools/node/node_modules).
// Source names are relative ("MintdropCollection.sol", "@openzeppelin/..."), so the output is
// byte-for-byte the same on every machine; a test recompiles and compares.
"use strict";
const fs = require("fs");
const path = require("path");

const CONTRACTS_DIR = __dirname;
const REPO_DIR = path.resolve(CONTRACTS_DIR, "..", "..");
const NODE_MODULES = process.env.NODE_MODULES_DIR || path.join(REPO_DIR, ".local/tools/node/node_modules");
const SOLC_VERSION = "0.8.37"; // pinned in ops/node/package.json
const CONTRACTS = ["MintdropCollection"];
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  metadata: { bytecodeHash: "ipfs" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};

const solc = require(path.join(NODE_MODULES, "solc"));
if (!solc.version().startsWith(SOLC_VERSION + "+")) {
  console.error(`solc ${solc.version()} found, ${SOLC_VERSION} pinned: run ops/install`);
  process.exit(2);
}

function findImports(importPath) {
  const file = path.join(NODE_MODULES, importPath);
  if (!file.startsWith(NODE_MODULES + path.sep) || !fs.existsSync(file)) {
    return { error: `import not found: ${importPath}` };
  }
  return { contents: fs.readFileSync(file, "utf8") };
}

const outIdx = process.argv.indexOf("--out-dir");
const outDir = outIdx > 0 ? path.resolve(process.argv[outIdx + 1]) : path.join(CONTRACTS_DIR, "build");
fs.mkdirSync(outDir, { recursive: true });

for (const name of CONTRACTS) {
  const source = `${name}.sol`;
  const input = {
    language: "Solidity",
    sources: { [source]: { content: fs.readFileSync(path.join(CONTRACTS_DIR, source), "utf8") } },
    settings: SETTINGS,
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  for (const e of output.errors || []) console.error(e.formattedMessage);
  if (errors.length) process.exit(1);
  const c = output.contracts[source][name];
  const artifact = {
    contractName: name,
    sourceName: source,
    compiler: { name: "solc-js", version: solc.version() },
    settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion, metadata: SETTINGS.metadata },
    abi: c.abi,
    bytecode: "0x" + c.evm.bytecode.object,
    deployedBytecode: "0x" + c.evm.deployedBytecode.object,
  };
  fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(artifact, null, 2) + "\n");
  console.log(`${name}: ${c.evm.bytecode.object.length / 2} bytes -> ${path.relative(process.cwd(), outDir)}/${name}.json`);
}
