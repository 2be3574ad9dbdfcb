#!/usr/bin/env node
// Rewrites tests/vectors/presets/<preset>.json for the presets whose provider publishes an
// official Node SDK (or, where said so, a well-known community package): the SDK *produces*
// the signature (a signing or test-helper function), or, where the SDK only verifies, it
// *accepts* the vector and *rejects* it under `wrong_secret`. Each vector's `sdk` field names
// the npm package, its exact version and the function used.
//
// Run from the repository root, after make_presets.py and make_sdk_py.py (the last writer of a
// vector wins; this script only touches the presets listed below):
//
//     npm install --prefix /tmp/sdk/js stripe@23.1.0 @octokit/webhooks-methods@6.0.0 \
//         @shopify/shopify-api@13.1.0 discord-interactions@4.4.0 @sendgrid/eventwebhook@8.0.0 \
//         @paddle/paddle-node-sdk@3.10.0 @linear/sdk@98.0.0 @workos-inc/node@8.13.0 \
//         replicate@1.4.0 @mux/mux-node@15.3.0 svix@1.99.1 coinbase-commerce-node@1.0.4 \
//         @zoom/rivet@0.4.0 webflow-api@3.3.4 onlinepayments-sdk-nodejs@6.2.0 @hookdeck/sdk@0.4.0 \
//         @notionhq/client@5.26.0 @clerk/backend@3.25.0 resend@6.38.0
//     SDK_JS=/tmp/sdk/js node tests/vectors/make/make_sdk.mjs
//
// ECDSA signatures are randomized (node:crypto has no RFC 6979): each run writes a different,
// equally valid sendgrid vector. Nothing here runs at test time: the vectors are committed JSON.
import { createRequire } from "node:module";
import { pathToFileURL, fileURLToPath } from "node:url";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";

const SDK = process.env.SDK_JS || "/tmp/sdk/js";
const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "presets");
const require = createRequire(path.join(SDK, "node_modules", "noop.js"));
const version = (pkg) =>
  JSON.parse(fs.readFileSync(path.join(SDK, "node_modules", pkg, "package.json"), "utf8")).version;
const sdkName = (pkg, what) => `${pkg} (npm) ${version(pkg)}: ${what}`;
// ESM import of a package under SDK (its "exports" map, import conditions first).
async function load(spec) {
  const parts = spec.split("/");
  const pkg = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  const sub = "." + spec.slice(pkg.length);
  const dir = path.join(SDK, "node_modules", pkg);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const pick = (e) => typeof e === "string" ? e
    : e && (pick(e.node) || pick(e.import) || pick(e.default) || pick(e.require));
  let exp = meta.exports;
  if (exp && (typeof exp === "string" || !Object.keys(exp).some((k) => k.startsWith(".")))) exp = { ".": exp };
  const entry = exp ? pick(exp[sub]) : (sub === "." ? meta.module || meta.main || "index.js" : sub);
  if (!entry) return import(pathToFileURL(require.resolve(spec)).href);
  return import(pathToFileURL(path.join(dir, entry)).href);
}

const NOW = 1_700_000_000;
const SECRET = "hookgate-test-secret";
const WRONG = "wrong-secret";
const JSON_BODY = '{"id":"evt_1","type":"test.event","data":{"id":"obj_1"}}';

// Runs `fn` with the clock (Date.now and `new Date()`) pinned at `sec` seconds.
async function atTime(sec, fn) {
  const Real = Date;
  class Fake extends Real {
    constructor(...args) {
      if (args.length === 0) super(sec * 1000);
      else super(...args);
    }
    static now() {
      return sec * 1000;
    }
  }
  globalThis.Date = Fake;
  try {
    return await fn();
  } finally {
    globalThis.Date = Real;
  }
}

function must(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function rejects(fn) {
  try {
    const r = await fn();
    return r === false || (r && r.valid === false);
  } catch {
    return true;
  }
}

const written = [];
function write(v) {
  const order = ["preset", "source", "secret", "method", "url", "headers", "body", "now",
    "expected_event_id", "public_url", "note", "sdk", "wrong_secret", "also"];
  const out = {};
  for (const k of order) if (v[k] !== undefined) out[k] = v[k];
  out.method ??= "POST";
  out.url ??= "/webhooks/" + v.preset;
  fs.writeFileSync(path.join(OUT, v.preset + ".json"), JSON.stringify(
    Object.fromEntries(order.filter((k) => out[k] !== undefined).map((k) => [k, out[k]])), null, 2) + "\n");
  written.push(v.preset);
}

// --- stripe: the SDK's test helper signs -------------------------------------------------------
{
  const Stripe = require("stripe");
  const stripe = new Stripe("sk_test_unused");
  const secret = "whsec_test_secret";
  const header = stripe.webhooks.generateTestHeaderString({ payload: JSON_BODY, secret, timestamp: NOW });
  await atTime(NOW, async () => {
    must(stripe.webhooks.constructEvent(JSON_BODY, header, secret).id === "evt_1", "stripe accepts");
    must(await rejects(() => stripe.webhooks.constructEvent(JSON_BODY, header, WRONG)), "stripe rejects");
  });
  write({ preset: "stripe", source: "sdk", secret, headers: { "Stripe-Signature": header }, body: JSON_BODY,
    now: NOW, expected_event_id: "evt_1", wrong_secret: WRONG,
    sdk: sdkName("stripe", "stripe.webhooks.generateTestHeaderString signs it; constructEvent accepts it") });
}

// --- github: @octokit/webhooks-methods (GitHub's own Octokit) signs GitHub's docs example -------
{
  const { sign, verify } = await load("@octokit/webhooks-methods");
  const secret = "It's a Secret to Everybody";
  const body = "Hello, World!";
  const sig = await sign(secret, body);
  // The example of docs.github.com "Validating webhook deliveries": the SDK gives the same.
  must(sig === "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "github docs example");
  must(await verify(secret, body, sig) && !(await verify(WRONG, body, sig)), "octokit verify");
  const id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
  write({ preset: "github", source: "sdk", secret, headers: { "X-Hub-Signature-256": sig, "X-GitHub-Delivery": id },
    body, now: NOW, expected_event_id: id, wrong_secret: WRONG,
    note: "the body and secret of GitHub's documented example (docs.github.com, Validating webhook deliveries); the signature is the documented one",
    sdk: sdkName("@octokit/webhooks-methods", "sign") });
}

// --- shopify: @shopify/shopify-api verifies (webhooks.validate) --------------------------------
{
  require("@shopify/shopify-api/adapters/web-api");
  const { shopifyApi, ApiVersion } = require("@shopify/shopify-api");
  const secret = SECRET;
  const body = '{"id":820982911946154508,"email":"jon@example.com"}';
  const sig = crypto.createHmac("sha256", secret).update(body).digest("base64");
  const id = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043";
  const headers = {
    "X-Shopify-Hmac-Sha256": sig, "X-Shopify-Webhook-Id": id, "X-Shopify-Topic": "orders/create",
    "X-Shopify-Shop-Domain": "example.myshopify.com", "X-Shopify-API-Version": "2025-07",
  };
  const api = (key) => shopifyApi({ apiKey: "k", apiSecretKey: key, scopes: [], hostName: "example.com",
    apiVersion: ApiVersion.July25, isEmbeddedApp: false, logger: { level: 0 } });
  const validate = (key) => api(key).webhooks.validate({ rawBody: body,
    rawRequest: new Request("https://example.com/webhooks/shopify", { method: "POST", headers, body }) });
  const ok = await validate(secret);
  must(ok.valid === true && ok.webhookId === id, "shopify accepts: " + JSON.stringify(ok));
  must((await validate(WRONG)).valid === false, "shopify rejects");
  // Shopify's "Events" deliveries carry the same HMAC in unprefixed shopify-* headers, which
  // the SDK tells apart by shopify-hmac-sha256; there is no X-Shopify-Webhook-Id.
  const events = {
    "shopify-hmac-sha256": sig, "shopify-webhook-id": "ev-wh-1", "shopify-event-id": "ev-1",
    "shopify-topic": "orders/create", "shopify-shop-domain": "example.myshopify.com", "shopify-api-version": "2025-07",
  };
  const validateEvents = (key) => api(key).webhooks.validate({ rawBody: body,
    rawRequest: new Request("https://example.com/webhooks/shopify", { method: "POST", headers: events, body }) });
  const okEvents = await validateEvents(secret);
  must(okEvents.valid === true && okEvents.webhookType === "events", "shopify accepts events: " + JSON.stringify(okEvents));
  must((await validateEvents(WRONG)).valid === false, "shopify rejects events");
  write({ preset: "shopify", source: "sdk", secret, headers, body, now: NOW, expected_event_id: id, wrong_secret: WRONG,
    also: [{ headers: events, body, expected_event_id: null }],
    note: "also: an Events delivery (shopify-* headers, which the SDK accepts too); its event id is the signature digest",
    sdk: sdkName("@shopify/shopify-api", "accepted by shopify.webhooks.validate (web-api adapter, Webhooks and Events headers), rejected under wrong_secret") });
}

// --- discord: discord-interactions (Discord's own package) verifies ------------------------------
{
  const { verifyKey } = require("discord-interactions");
  const priv = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"),
    Buffer.from([...Array(32).keys()])]), format: "der", type: "pkcs8" });
  const pub = crypto.createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(12).toString("hex");
  const wrongPub = crypto.createPublicKey(crypto.createPrivateKey({ key: Buffer.concat([
    Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.alloc(32)]), format: "der", type: "pkcs8" }))
    .export({ format: "der", type: "spki" }).subarray(12).toString("hex");
  const body = '{"id":"interaction-1","type":1}';
  const ts = String(NOW);
  const sig = crypto.sign(null, Buffer.from(ts + body), priv).toString("hex");
  must(await verifyKey(body, sig, ts, pub), "discord accepts");
  must(!(await verifyKey(body, sig, ts, wrongPub)), "discord rejects");
  write({ preset: "discord", source: "sdk", secret: pub, headers: { "X-Signature-Ed25519": sig, "X-Signature-Timestamp": ts },
    body, now: NOW, expected_event_id: "interaction-1", wrong_secret: wrongPub,
    note: "public key as the Developer Portal shows it (hex); signed with node:crypto Ed25519",
    sdk: sdkName("discord-interactions", "accepted by verifyKey, rejected under wrong_secret") });
}

// --- sendgrid: @sendgrid/eventwebhook (Twilio SendGrid's own package) verifies -------------------
{
  const { EventWebhook } = require("@sendgrid/eventwebhook");
  const ew = new EventWebhook();
  const mk = (n) => crypto.createECDH("prime256v1");
  const keyPair = (d) => {
    const ecdh = crypto.createECDH("prime256v1");
    ecdh.setPrivateKey(Buffer.from(d.toString(16).padStart(64, "0"), "hex"));
    const jwk = { kty: "EC", crv: "P-256", d: ecdh.getPrivateKey().toString("base64url"),
      x: ecdh.getPublicKey().subarray(1, 33).toString("base64url"), y: ecdh.getPublicKey().subarray(33).toString("base64url") };
    const priv = crypto.createPrivateKey({ key: jwk, format: "jwk" });
    return { priv, pub: crypto.createPublicKey(priv).export({ format: "der", type: "spki" }).toString("base64") };
  };
  void mk;
  const { priv, pub } = keyPair(0x1234567890abcdefn);
  const wrongPub = keyPair(42n).pub;
  const body = '[{"email":"a@example.com","event":"delivered","sg_event_id":"sg-1"}]';
  const ts = String(NOW);
  const sig = crypto.sign("sha256", Buffer.from(ts + body), priv).toString("base64");
  must(ew.verifySignature(ew.convertPublicKeyToECDSA(pub), body, sig, ts), "sendgrid accepts");
  must(!ew.verifySignature(ew.convertPublicKeyToECDSA(wrongPub), body, sig, ts), "sendgrid rejects");
  write({ preset: "sendgrid", source: "sdk", secret: pub,
    headers: { "X-Twilio-Email-Event-Webhook-Signature": sig, "X-Twilio-Email-Event-Webhook-Timestamp": ts },
    body, now: NOW, expected_event_id: "sg-1", wrong_secret: wrongPub,
    note: "public key as SendGrid shows it (base64 DER); the signature is DER, made with node:crypto",
    sdk: sdkName("@sendgrid/eventwebhook", "accepted by EventWebhook.verifySignature, rejected under wrong_secret") });
}

// --- paddle: @paddle/paddle-node-sdk verifies (Webhooks.isSignatureValid) --------------------------
{
  const { Paddle, Environment } = require("@paddle/paddle-node-sdk");
  const paddle = new Paddle("pdl_unused", { environment: Environment.sandbox });
  const secret = "pdl_ntfset_01h_test_secret";
  const body = '{"event_id":"evt_01h","event_type":"transaction.created"}';
  const sig = crypto.createHmac("sha256", secret).update(`${NOW}:${body}`).digest("hex");
  const header = `ts=${NOW};h1=${sig}`;
  await atTime(NOW, async () => {
    must(await paddle.webhooks.isSignatureValid(body, secret, header), "paddle accepts");
    must(!(await paddle.webhooks.isSignatureValid(body, WRONG, header)), "paddle rejects");
  });
  write({ preset: "paddle", source: "sdk", secret, headers: { "Paddle-Signature": header }, body, now: NOW,
    expected_event_id: "evt_01h", wrong_secret: WRONG,
    sdk: sdkName("@paddle/paddle-node-sdk", "accepted by paddle.webhooks.isSignatureValid (clock pinned at `now`), rejected under wrong_secret") });
}

// --- linear: @linear/sdk verifies (LinearWebhookClient.verify) ---------------------------------------
{
  const { LinearWebhookClient } = await load("@linear/sdk/webhooks");
  const body = `{"action":"create","type":"Issue","webhookTimestamp":${NOW * 1000}}`;
  const sig = crypto.createHmac("sha256", SECRET).update(body).digest("hex");
  await atTime(NOW, async () => {
    must(new LinearWebhookClient(SECRET).verify(Buffer.from(body), sig), "linear accepts");
    must(await rejects(() => new LinearWebhookClient(WRONG).verify(Buffer.from(body), sig)), "linear rejects");
  });
  write({ preset: "linear", source: "sdk", secret: SECRET, headers: { "Linear-Signature": sig, "Linear-Delivery": "ld-1" },
    body, now: NOW, expected_event_id: "ld-1", wrong_secret: WRONG,
    sdk: sdkName("@linear/sdk", "accepted by LinearWebhookClient.verify (clock pinned at `now`), rejected under wrong_secret") });
}

// --- workos: @workos-inc/node signs (webhooks.computeSignature) -----------------------------------
{
  const { WorkOS } = require("@workos-inc/node");
  const workos = new WorkOS("sk_test_unused");
  const body = '{"id":"event_01","event":"user.created","data":{"id":"user_01"}}';
  const ts = NOW * 1000;
  const sig = await workos.webhooks.computeSignature(ts, JSON.parse(body), SECRET);
  const header = `t=${ts}, v1=${sig}`;
  await atTime(NOW, async () => {
    must(await workos.webhooks.verifyHeader({ payload: JSON.parse(body), sigHeader: header, secret: SECRET }), "workos accepts");
    must(await rejects(() => workos.webhooks.verifyHeader({ payload: JSON.parse(body), sigHeader: header, secret: WRONG })), "workos rejects");
  });
  write({ preset: "workos", source: "sdk", secret: SECRET, headers: { "WorkOS-Signature": header }, body, now: NOW,
    expected_event_id: "event_01", wrong_secret: WRONG,
    note: "the SDK signs JSON.stringify of the parsed payload, which is this compact body byte for byte",
    sdk: sdkName("@workos-inc/node", "webhooks.computeSignature signs it; verifyHeader accepts it") });
}

// --- mux: @mux/mux-node verifies (webhooks.verifySignature) ----------------------------------------
{
  const { default: Mux } = await load("@mux/mux-node");
  const mux = new Mux({ tokenId: "x", tokenSecret: "y" });
  const sig = crypto.createHmac("sha256", SECRET).update(`${NOW}.${JSON_BODY}`).digest("hex");
  const header = `t=${NOW},v1=${sig}`;
  await atTime(NOW, async () => {
    await mux.webhooks.verifySignature(JSON_BODY, { "mux-signature": header }, SECRET);
    must(await rejects(() => mux.webhooks.verifySignature(JSON_BODY, { "mux-signature": header }, WRONG)), "mux rejects");
  });
  write({ preset: "mux", source: "sdk", secret: SECRET, headers: { "Mux-Signature": header }, body: JSON_BODY, now: NOW,
    expected_event_id: "evt_1", wrong_secret: WRONG,
    sdk: sdkName("@mux/mux-node", "accepted by mux.webhooks.verifySignature (clock pinned at `now`), rejected under wrong_secret") });
}

// --- replicate: the replicate package verifies (validateWebhook) ------------------------------------
{
  const { validateWebhook } = require("replicate");
  const secret = "whsec_" + Buffer.from("key-of-replicate").toString("base64");
  const wrong = "whsec_" + Buffer.from("wrong-secret").toString("base64");
  const id = "msg_replicate";
  const key = Buffer.from(secret.slice(6), "base64");
  const sig = "v1," + crypto.createHmac("sha256", key).update(`${id}.${NOW}.${JSON_BODY}`).digest("base64");
  const headers = { "webhook-id": id, "webhook-timestamp": String(NOW), "webhook-signature": sig };
  await atTime(NOW, async () => {
    must(await validateWebhook({ headers, body: JSON_BODY }, secret), "replicate accepts");
    must(!(await validateWebhook({ headers, body: JSON_BODY }, wrong)), "replicate rejects");
  });
  write({ preset: "replicate", source: "sdk", secret, headers, body: JSON_BODY, now: NOW, expected_event_id: id,
    wrong_secret: wrong, sdk: sdkName("replicate", "accepted by validateWebhook, rejected under wrong_secret") });
}

// --- clerk, resend: svix (Svix's own) signs; the provider's own SDK accepts ------------------------------
{
  const { Webhook } = require("svix");
  const { verifyWebhook } = require("@clerk/backend/webhooks");
  const { Resend } = require("resend");
  const resend = new Resend("re_unused");
  const check = {
    clerk: (secret, headers, body) => verifyWebhook(
      new Request("https://example.com/webhooks/clerk", { method: "POST", headers, body }), { signingSecret: secret }),
    resend: async (secret, headers, body) => resend.webhooks.verify({ payload: body, webhookSecret: secret,
      headers: { id: headers["svix-id"], timestamp: headers["svix-timestamp"], signature: headers["svix-signature"] } }),
  };
  const by = {
    clerk: sdkName("@clerk/backend", "accepted by verifyWebhook, rejected under wrong_secret; signed by " + sdkName("svix", "Webhook.sign")),
    resend: sdkName("resend", "accepted by resend.webhooks.verify, rejected under wrong_secret; signed by " + sdkName("svix", "Webhook.sign")),
  };
  for (const name of ["clerk", "resend"]) {
    const secret = "whsec_" + Buffer.from("key-of-" + name).toString("base64");
    const wrong = "whsec_" + Buffer.from("wrong-secret").toString("base64");
    const id = "msg_" + name;
    const sig = new Webhook(secret).sign(id, new Date(NOW * 1000), JSON_BODY);
    const headers = { "svix-id": id, "svix-timestamp": String(NOW), "svix-signature": sig };
    await atTime(NOW, async () => {
      must((await check[name](secret, headers, JSON_BODY)).type === "test.event", name + " accepts");
      must(await rejects(() => check[name](wrong, headers, JSON_BODY)), name + " rejects");
    });
    write({ preset: name, source: "sdk", secret, headers, body: JSON_BODY, now: NOW, expected_event_id: id,
      wrong_secret: wrong, sdk: by[name] });
  }
}

// --- coinbase: coinbase-commerce-node (Coinbase's own) signs (Webhook.computeSignature) -------------
{
  const { Webhook } = require("coinbase-commerce-node");
  const body = '{"event":{"id":"ev_cb","type":"charge:confirmed"}}';
  const sig = Webhook.computeSignature(body, SECRET);
  must(Webhook.verifySigHeader(body, sig, SECRET), "coinbase accepts");
  must(await rejects(() => Webhook.verifySigHeader(body, sig, WRONG)), "coinbase rejects");
  write({ preset: "coinbase", source: "sdk", secret: SECRET, headers: { "X-CC-Webhook-Signature": sig }, body, now: NOW,
    expected_event_id: "ev_cb", wrong_secret: WRONG,
    sdk: sdkName("coinbase-commerce-node", "Webhook.computeSignature signs it; Webhook.verifySigHeader accepts it") });
}

// --- zoom: @zoom/rivet (Zoom's own) verifies (a receiver's event processing) --------------------------
{
  const { AwsLambdaReceiver } = require("@zoom/rivet/meetings");
  const body = '{"event":"meeting.started","event_ts":1700000000000,"payload":{"account_id":"acc_1"}}';
  const ts = String(NOW);
  const sig = "v0=" + crypto.createHmac("sha256", SECRET).update(`v0:${ts}:${body}`).digest("hex");
  const headers = { "x-zm-signature": sig, "x-zm-request-timestamp": ts };
  const receive = async (secret) => {
    const r = new AwsLambdaReceiver({ webhooksSecretToken: secret });
    r.init({ eventEmitter: { emit: async () => {} } });
    const log = console.debug;
    console.debug = () => {};
    try {
      return (await r.start()({ body, headers, isBase64Encoded: false }, {})).statusCode;
    } finally {
      console.debug = log;
    }
  };
  must((await receive(SECRET)) === 200, "zoom accepts");
  must((await receive(WRONG)) === 400, "zoom rejects");
  write({ preset: "zoom", source: "sdk", secret: SECRET, headers, body, now: NOW,
    expected_event_id: "meeting.started:1700000000000", wrong_secret: WRONG,
    note: "the SDK verifies JSON.stringify of the parsed body, which is this compact body byte for byte",
    sdk: sdkName("@zoom/rivet", "accepted by AwsLambdaReceiver (CommonHttpRequest.isEventVerified; 200), rejected under wrong_secret (400)") });
}

// --- webflow: webflow-api (Webflow's own) verifies (client.webhooks.verifySignature) -----------------
{
  const { WebflowClient } = require("webflow-api");
  const client = new WebflowClient({ accessToken: "unused" });
  const ts = String(NOW * 1000);
  const sig = crypto.createHmac("sha256", SECRET).update(`${ts}:${JSON_BODY}`).digest("hex");
  const headers = { "x-webflow-signature": sig, "x-webflow-timestamp": ts };
  must(await client.webhooks.verifySignature({ headers, body: JSON_BODY, secret: SECRET }), "webflow accepts");
  must(!(await client.webhooks.verifySignature({ headers, body: JSON_BODY, secret: WRONG })), "webflow rejects");
  write({ preset: "webflow", source: "sdk", secret: SECRET, headers, body: JSON_BODY, now: NOW,
    expected_event_id: null, wrong_secret: WRONG,
    sdk: sdkName("webflow-api", "accepted by client.webhooks.verifySignature, rejected under wrong_secret") });
}

// --- worldline: onlinepayments-sdk-nodejs (Worldline's own) verifies (webhooks signature validator) ---
{
  const sdkMod = require("onlinepayments-sdk-nodejs");
  const body = '{"apiVersion":"v1","id":"evt_1","created":"2023-11-14T22:13:20.000+0000","merchantId":"m1","type":"payment.created"}';
  const sig = crypto.createHmac("sha256", SECRET).update(body).digest("base64");
  const headers = { "X-GCS-Signature": sig, "X-GCS-KeyId": "key-1" };
  const helper = (secret) => sdkMod.webhooks.init({
    getSecretKey: async () => secret,
  });
  must((await helper(SECRET).unmarshal(body, headers)).id === "evt_1", "worldline accepts");
  must(await rejects(() => helper(WRONG).unmarshal(body, headers)), "worldline rejects");
  write({ preset: "worldline", source: "sdk", secret: SECRET, headers, body, now: NOW, expected_event_id: "evt_1",
    wrong_secret: WRONG, sdk: sdkName("onlinepayments-sdk-nodejs", "accepted by webhooks helper unmarshal (signature validator), rejected under wrong_secret") });
}

// --- hookdeck: @hookdeck/sdk (Hookdeck's own) verifies (verifyWebhookSignature) -----------------------
{
  const { verifyWebhookSignature } = require(path.join(SDK, "node_modules/@hookdeck/sdk/dist/webhooks/helpers.js"));
  const sig = crypto.createHmac("sha256", SECRET).update(JSON_BODY).digest("base64");
  const headers = { "x-hookdeck-signature": sig, "x-hookdeck-eventid": "hd-1" };
  must((await verifyWebhookSignature({ headers, rawBody: JSON_BODY, signingSecret: SECRET })).isValidSignature, "hookdeck accepts");
  must(!(await verifyWebhookSignature({ headers, rawBody: JSON_BODY, signingSecret: WRONG })).isValidSignature, "hookdeck rejects");
  write({ preset: "hookdeck", source: "sdk", secret: SECRET, headers, body: JSON_BODY, now: NOW, expected_event_id: "hd-1",
    wrong_secret: WRONG, sdk: sdkName("@hookdeck/sdk", "accepted by verifyWebhookSignature, rejected under wrong_secret") });
}

// --- notion: @notionhq/client (Notion's own) signs (signWebhookPayload) ---------------------------------
{
  const { signWebhookPayload, verifyWebhookSignature } = require(path.join(SDK, "node_modules/@notionhq/client/build/src/webhooks.js"));
  const sig = await signWebhookPayload({ body: JSON_BODY, verificationToken: SECRET });
  must(await verifyWebhookSignature({ body: JSON_BODY, signature: sig, verificationToken: SECRET }), "notion accepts");
  must(!(await verifyWebhookSignature({ body: JSON_BODY, signature: sig, verificationToken: WRONG })), "notion rejects");
  write({ preset: "notion", source: "sdk", secret: SECRET, headers: { "X-Notion-Signature": sig }, body: JSON_BODY, now: NOW,
    expected_event_id: "evt_1", wrong_secret: WRONG,
    sdk: sdkName("@notionhq/client", "signWebhookPayload signs it; verifyWebhookSignature accepts it") });
}

console.log(`${written.length} vectors written by SDKs: ${written.join(", ")}`);
