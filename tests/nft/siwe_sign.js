// Produce and sign an EIP-4361 message with the reference implementation (npm siwe 3 + ethers 6).
//   node siwe_sign.js '<json: {privateKey, domain, uri, chainId, nonce, issuedAt, expirationTime?, statement?, ...}>'
// Prints {"message": ..., "signature": ...}.
"use strict";
const path = require("path");
const nm = process.env.NODE_MODULES_DIR || path.resolve(__dirname, "../../.local/tools/node/node_modules");
const { SiweMessage } = require(path.join(nm, "siwe"));
const { Wallet } = require(path.join(nm, "ethers"));

(async () => {
  const args = JSON.parse(process.argv[2]);
  const wallet = new Wallet(args.privateKey);
  delete args.privateKey;
  const message = new SiweMessage({ version: "1", address: wallet.address, ...args }).prepareMessage();
  const signature = await wallet.signMessage(message);
  process.stdout.write(JSON.stringify({ message, signature }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
