#!/usr/bin/env python3
"""Writes the AWS SNS vectors: tests/vectors/presets/sns.json (the preset's vector) and
tests/vectors/sns/ (the certificates and signed messages of src/core/sns.rs's unit tests).

The string to sign is built as AWS documents it
(https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html): "Key\\nValue\\n"
for Message, MessageId, Subject (if present), Timestamp, TopicArn, Type of a Notification, and
Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type of a SubscriptionConfirmation
or UnsubscribeConfirmation; SignatureVersion 1 is SHA1withRSA, 2 SHA256withRSA. The signing
certificate is self-signed here with Python's `cryptography`, an implementation independent of
hookgate's. When the npm package `sns-validator` can be loaded (NODE_PATH), every Notification
and SubscriptionConfirmation is also checked with it, its certificate download answered from
memory with our certificate; its UnsubscribeConfirmation key list omits Token, unlike AWS's
docs, so those are checked against the docs only. Each run makes new keys.

    pip install --target /tmp/py cryptography
    (cd /tmp/npm && npm install sns-validator@0.3.5)
    PYTHONPATH=/tmp/py NODE_PATH=/tmp/npm/node_modules python3 tests/vectors/make/make_sns.py
"""
import base64, datetime, json, os, subprocess

import cryptography
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(__file__)
PRESET = os.path.join(HERE, "..", "presets", "sns.json")
UNIT = os.path.join(HERE, "..", "sns")
NOW = 1_700_000_000
TIMESTAMP = "2023-11-14T22:13:20.000Z"  # NOW, as SNS writes it
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem"
TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"


def certificate():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = datetime.datetime(2023, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def canonical(message):
    if message["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{k}\n{message[k]}\n" for k in keys if k in message).encode()


def signed(key, message, version):
    message = dict(message, SignatureVersion=version, SigningCertURL=CERT_URL)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(canonical(message), padding.PKCS1v15(), digest)
    message["Signature"] = base64.b64encode(signature).decode()
    # SNS's own layout: two-space indent, " : " between key and value.
    return json.dumps(message, indent=2, separators=(",", " : "), ensure_ascii=False)


key, cert = certificate()
_, other_cert = certificate()

notification = {
    "Type": "Notification",
    "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
    "TopicArn": TOPIC,
    "Subject": "Order shipped",
    # Escapes and non-ASCII text: signed as their unescaped UTF-8.
    "Message": '{"order":"o-1","note":"line 1\\nline 2 \u2014 caf\u00e9"}\nsecond line',
    "Timestamp": TIMESTAMP,
    "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + TOPIC + ":c9135db0",
}
no_subject = {k: v for k, v in notification.items() if k != "Subject"}
no_subject["MessageId"] = "f3c4a9d0-3c55-4c89-9c3e-0c2b1b6f8a11"
subscription = {
    "Type": "SubscriptionConfirmation",
    "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
    "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
    "TopicArn": TOPIC,
    "Message": "You have chosen to subscribe to the topic " + TOPIC + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
    "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC + "&Token=2336412f37",
    "Timestamp": TIMESTAMP,
}
unsubscribe = dict(subscription, Type="UnsubscribeConfirmation",
                   MessageId="47138184-6831-46b8-8f7c-afc488602d7d",
                   Message="You have chosen to deactivate subscription " + TOPIC + ":c9135db0.")

messages = {
    "notification_v1": signed(key, no_subject, "1"),
    "notification_v2": signed(key, notification, "2"),
    "subscription_v1": signed(key, subscription, "1"),
    "unsubscribe_v2": signed(key, unsubscribe, "2"),
}
preset_body = signed(key, notification, "1")

# The npm validator, when it can be loaded, with its certificate fetch answered from memory.
CHECK = r"""
const https = require('https'), { EventEmitter } = require('events');
const [cert, messages] = [process.env.SNS_CERT, JSON.parse(process.env.SNS_MESSAGES)];
https.get = (url, cb) => {
  const res = new EventEmitter(); res.statusCode = 200; cb(res);
  process.nextTick(() => { res.emit('data', Buffer.from(cert)); res.emit('end'); });
  return new EventEmitter();
};
const MessageValidator = require('sns-validator');
const version = require('sns-validator/package.json').version;
let pending = messages.length;
for (const [name, body] of messages) {
  new MessageValidator().validate(JSON.parse(body), (err) => {
    if (err) { console.error(name, err.message); process.exit(1); }
    if (--pending === 0) console.log(version);
  });
}
"""
checked = [(n, b) for n, b in list(messages.items()) + [("preset", preset_body)]
           if not n.startswith("unsubscribe")]
sdk = None
try:
    result = subprocess.run(["node", "-e", CHECK], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, SNS_CERT=cert, SNS_MESSAGES=json.dumps(checked)))
    if result.returncode == 0:
        sdk = f"sns-validator {result.stdout.strip()} (npm): every Notification and SubscriptionConfirmation here verifies"
    elif "Cannot find module 'sns-validator'" in result.stderr:
        print("sns-validator not found (NODE_PATH): checked against AWS's docs only")
    else:
        raise SystemExit("sns-validator refused a vector: " + result.stderr)
except FileNotFoundError:
    print("node not found: checked against AWS's docs only")
# And the other certificate must not verify (the vector's wrong_secret).
if sdk:
    bad = subprocess.run(["node", "-e", CHECK], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, SNS_CERT=other_cert, SNS_MESSAGES=json.dumps(checked[:1])))
    assert bad.returncode != 0, "sns-validator accepted the other certificate"

os.makedirs(UNIT, exist_ok=True)
for name, text in [("cert.pem", cert), ("other_cert.pem", other_cert)]:
    with open(os.path.join(UNIT, name), "w") as f:
        f.write(text)
with open(os.path.join(UNIT, "messages.json"), "w") as f:
    json.dump(messages, f, indent=2, ensure_ascii=False)
    f.write("\n")

vector = {
    "preset": "sns",
    "source": "sdk" if sdk else "docs",
    "docs": "https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html",
    "secret": cert,
    "method": "POST",
    "url": "/webhooks/sns",
    "headers": {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": notification["MessageId"],
        "x-amz-sns-topic-arn": TOPIC,
        "Content-Type": "text/plain; charset=UTF-8",
    },
    "body": preset_body,
    "now": NOW,
    "expected_event_id": notification["MessageId"],
    "note": "SignatureVersion 1 (SHA1withRSA); the certificate is self-signed, given as the route's secret",
    "wrong_secret": other_cert,
    "made_with": f"cryptography {cryptography.__version__}",
}
if sdk:
    vector["sdk"] = sdk
with open(PRESET, "w") as f:
    json.dump(vector, f, indent=2, ensure_ascii=False)
    f.write("\n")
print("wrote", os.path.normpath(PRESET), "and", os.path.normpath(UNIT), "|", sdk or "docs only")
