'use strict';
// A Node.js subscriber to Suxing's final results (YearResultsFinalized, on suxing.scoring)
// and published pledges (PledgePublished, on suxing.pledges).
//
// Written as a team outside Suxing would: it depends only on the published contract (the
// envelope and event schemas in docs/events/, the headers in docs/asyncapi/, the signature
// rules in docs/signing.md), not on Suxing's code. It trusts nothing the broker hands it:
// a record not signed by the key of the service that owns its topic is set aside with the
// reason. Delivery is at least once, so it deduplicates by the envelope's event_id: each
// received event is one line of received.jsonl, written before the offset is committed, and
// the ids already there are skipped. See README.md.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Kafka, logLevel } = require('kafkajs');

const WANTED = { 'suxing.scoring': 'YearResultsFinalized', 'suxing.pledges': 'PledgePublished' };
const SIGNED = ['type', 'version', 'event_id', 'suxing-key-id', 'suxing-signature',
  'suxing-position', 'suxing-prev-hash', 'suxing-hash'];
const DOMAIN = Buffer.from('suxing-event/1');

function log(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
}

// SUXING_TOPICS: "topic:owner:Type,topic:owner:Type" (owner = the service whose key signs the
// topic). Default: the two real topics.
function topicsFromEnv(text) {
  if (!text) {
    return Object.entries(WANTED).map(([topic, type]) => ({
      topic, owner: topic.split('.')[1], type,
    }));
  }
  return text.split(',').map((item) => {
    const [topic, owner, type] = item.split(':');
    if (!topic || !owner || !type) throw new Error(`SUXING_TOPICS: bad item ${item}`);
    return { topic, owner, type };
  });
}

// The owners' public keys: <service>.<id>.pub files (PEM, Ed25519) in SUXING_KEYS_DIR.
function trustedKeys(directory) {
  const keys = new Map();
  for (const name of fs.readdirSync(directory).sort()) {
    if (!name.endsWith('.pub')) continue;
    const key = crypto.createPublicKey(fs.readFileSync(path.join(directory, name)));
    if (key.asymmetricKeyType === 'ed25519') keys.set(name.slice(0, -4), key);
  }
  return keys;
}

function lengthPrefixed(parts) {
  return Buffer.concat(parts.flatMap((part) => {
    const size = Buffer.alloc(4);
    size.writeUInt32BE(part.length);
    return [size, part];
  }));
}

// null when the record proves it comes from `owner` (docs/signing.md); else why not.
function originProblem(topic, owner, message, keys) {
  const named = new Map();
  for (const [name, value] of Object.entries(message.headers || {})) {
    if (Array.isArray(value)) return `header ${name} appears twice`;
    named.set(name, Buffer.from(value));
  }
  if (SIGNED.some((name) => !named.has(name))) return 'unsigned or incomplete signature headers';
  const keyId = named.get('suxing-key-id').toString('ascii');
  if (!keyId.startsWith(`${owner}.`)) return `signed by ${keyId.slice(0, 80)}, not the topic's owner`;
  const publicKey = keys.get(keyId);
  if (!publicKey) return `not signed by a trusted key (key id ${keyId.slice(0, 80)})`;
  const signedMessage = lengthPrefixed([
    DOMAIN, Buffer.from(topic), message.key || Buffer.alloc(0),
    named.get('type'), named.get('version'), named.get('event_id'),
    named.get('suxing-position'), named.get('suxing-prev-hash'), named.get('suxing-hash'),
  ]);
  const signature = Buffer.from(named.get('suxing-signature').toString('ascii'), 'base64');
  let valid = false;
  try {
    valid = crypto.verify(null, signedMessage, publicKey, signature);
  } catch (error) {
    valid = false;
  }
  if (!valid) return 'the signature does not match the record';
  const link = crypto.createHash('sha256')
    .update(named.get('suxing-prev-hash')).update(message.value || Buffer.alloc(0))
    .digest('hex');
  if (link !== named.get('suxing-hash').toString('ascii')) {
    return 'the value does not hash to its signed chain link';
  }
  return null;
}

// received.jsonl: one line per event, appended in one write; the ids in it are "seen".
class Received {
  constructor(directory) {
    fs.mkdirSync(directory, { recursive: true });
    this.file = path.join(directory, 'received.jsonl');
    this.rejectedFile = path.join(directory, 'rejected.jsonl');
    this.seen = new Set();
    if (fs.existsSync(this.file)) {
      const text = fs.readFileSync(this.file, 'utf8');
      const lines = text.split('\n');
      let kept = 0;
      for (const line of lines) {
        if (!line) continue;
        try {
          this.seen.add(JSON.parse(line).event_id);
          kept += Buffer.byteLength(line) + 1;
        } catch (error) {
          break; // a line cut short by a crash: drop it, its record will come again
        }
      }
      fs.truncateSync(this.file, kept);
    }
  }

  add(envelope) {
    if (this.seen.has(envelope.event_id)) return false;
    const line = JSON.stringify({
      event_id: envelope.event_id,
      type: envelope.type,
      version: envelope.version,
      stream: envelope.stream,
      sequence: envelope.sequence,
      occurred_at: envelope.occurred_at,
      branch: envelope.org && envelope.org.branch,
      data: envelope.data,
    }) + '\n';
    const fd = fs.openSync(this.file, 'a');
    try {
      fs.writeSync(fd, line);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.seen.add(envelope.event_id);
    return true;
  }

  reject(topic, partition, offset, reason) {
    fs.appendFileSync(this.rejectedFile, JSON.stringify({ topic, partition, offset, reason }) + '\n');
  }
}

async function main() {
  const brokers = (process.env.SUXING_BROKER_URL || '127.0.0.1:9092').split(',');
  const topics = topicsFromEnv(process.env.SUXING_TOPICS);
  const keys = trustedKeys(process.env.SUXING_KEYS_DIR || 'var/keys');
  const received = new Received(process.env.SUBSCRIBER_DATA_DIR || 'var/node-subscriber');
  const byTopic = new Map(topics.map((t) => [t.topic, t]));
  const kafka = new Kafka({
    clientId: 'suxing-node-subscriber',
    brokers,
    logLevel: logLevel.WARN,
    retry: { retries: 1000, initialRetryTime: 300, maxRetryTime: 3000 },
  });
  const consumer = kafka.consumer({
    groupId: process.env.SUBSCRIBER_GROUP || 'node-final-results',
    // Joins quickly on the embedded broker; Kafka's defaults suit production.
    sessionTimeout: Number(process.env.SUBSCRIBER_SESSION_MS || 6000),
    heartbeatInterval: 1000,
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => log('joined', { memberAssignment: e.payload.memberAssignment }));
  consumer.on(consumer.events.CRASH, (e) => log('crash', { error: String(e.payload.error), restart: e.payload.restart }));
  await consumer.connect();
  for (const { topic } of topics) {
    await consumer.subscribe({ topic, fromBeginning: true });
  }
  await consumer.run({
    autoCommit: true,
    eachMessage: async ({ topic, partition, message }) => {
      const wanted = byTopic.get(topic);
      const problem = originProblem(topic, wanted.owner, message, keys);
      if (problem) {
        received.reject(topic, partition, message.offset, problem);
        log('rejected', { topic, partition, offset: message.offset, reason: problem });
        return;
      }
      // Route on the signed header: events of other types are skipped unread.
      if (Buffer.from(message.headers.type).toString() !== wanted.type) return;
      const envelope = JSON.parse(message.value.toString('utf8'));
      const fresh = received.add(envelope);
      log(fresh ? 'received' : 'duplicate', { event_id: envelope.event_id, type: envelope.type });
    },
  });
  const stop = async () => {
    try {
      await consumer.disconnect();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { originProblem, trustedKeys, Received };

if (require.main === module) {
  main().catch((error) => {
    log('failed', { error: String(error && error.stack || error) });
    process.exit(1);
  });
}
