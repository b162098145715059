// Connects to a Foxglove WebSocket server with Foxglove's own client
// (@foxglove/ws-protocol's FoxgloveClient over the ws package), subscribes
// to every advertised channel and decodes what arrives with the schemas
// the server advertised (protobufjs for protobuf, JSON.parse for json).
// Checks the protobuf schemas field for field against Foxglove's own
// definitions (@foxglove/schemas), and that each message's frame
// timestamp is the capture time the message itself carries. Prints a JSON
// summary for the Go test to compare with what it sent.
//
// Usage: node check.mjs ws://HOST:PORT [SECONDS] [MIN_PER_CHANNEL]
// Exits once every channel has MIN_PER_CHANNEL messages (default 1) or
// after SECONDS (default 20), 0 with the summary, 1 on a failed check.
import WebSocket from "ws";
import wsProtocol from "@foxglove/ws-protocol";
const { FoxgloveClient } = wsProtocol;
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import schemasInternal from "@foxglove/schemas/internal.js";
const { foxgloveMessageSchemas, generateProto } = schemasInternal;

const fail = (msg) => {
  console.error("foxglove-check: " + msg);
  process.exit(1);
};
const url = process.argv[2];
if (!url) fail("usage: node check.mjs ws://HOST:PORT [SECONDS] [MIN_PER_CHANNEL]");
const seconds = Number(process.argv[3] ?? 20);
const minPer = Number(process.argv[4] ?? 1);

const official = (name) =>
  protobuf.parse(generateProto(foxgloveMessageSchemas[name], []), { keepCase: true }).root.lookupType("foxglove." + name);
// Fields as id:name:type (the type's last name), without the metadata fields fusiond leaves out.
const fieldsOf = (type) =>
  Object.values(type.fields)
    .filter((f) => f.name !== "metadata" && !(type.name === "ImageAnnotations" && f.name === "timestamp"))
    .map((f) => `${f.id}:${f.name}:${f.type.split(".").pop()}`)
    .sort()
    .join(",");
const tsNS = (t) => (t ? BigInt(t.seconds ?? 0) * 1000000000n + BigInt(t.nanos ?? 0) : undefined);

const summary = { serverInfo: null, subprotocol: "", channels: {}, topics: {}, time: 0, statuses: [] };
const decoders = new Map(); // channel id -> (bytes) => {value, stamp}
const topicOf = new Map(); // subscription id -> topic
const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
const client = new FoxgloveClient({ ws });
const timer = setTimeout(finish, seconds * 1000);

client.on("open", () => (summary.subprotocol = ws.protocol));
client.on("error", (e) => fail("error: " + (e?.message ?? e)));
client.on("close", () => finish());
client.on("serverInfo", (info) => (summary.serverInfo = info));
client.on("status", (s) => summary.statuses.push(s));
client.on("time", () => summary.time++);
client.on("advertise", (channels) => {
  for (const ch of channels) {
    summary.channels[ch.topic] = { schemaName: ch.schemaName, encoding: ch.encoding, schemaEncoding: ch.schemaEncoding ?? "", schemaBytes: ch.schema.length };
    if (ch.encoding === "protobuf") {
      const set = descriptor.FileDescriptorSet.decode(Buffer.from(ch.schema, "base64"));
      const type = protobuf.Root.fromDescriptor(set).lookupType(ch.schemaName);
      const name = ch.schemaName.replace(/^foxglove\./, "");
      const want = fieldsOf(official(name)), got = fieldsOf(type);
      if (want !== got) fail(`${ch.topic}: schema ${ch.schemaName} fields ${got}, Foxglove's ${want}`);
      for (const sub of ["CircleAnnotation", "PointsAnnotation", "TextAnnotation", "Point2", "Color"]) {
        if (name !== "ImageAnnotations") break;
        const t = type.root.lookupType("foxglove." + sub);
        if (fieldsOf(t) !== fieldsOf(official(sub))) fail(`${sub}: fields ${fieldsOf(t)}, Foxglove's ${fieldsOf(official(sub))}`);
      }
      decoders.set(ch.id, (bytes) => {
        const m = type.toObject(type.decode(bytes), { longs: String, bytes: Buffer });
        let stamp = tsNS(m.timestamp);
        if (name === "ImageAnnotations") {
          const shapes = [...(m.circles ?? []), ...(m.points ?? []), ...(m.texts ?? [])];
          stamp = shapes.length ? tsNS(shapes[0].timestamp) : undefined;
        }
        return { m, stamp };
      });
    } else if (ch.encoding === "json") {
      JSON.parse(ch.schema); // the JSON Schema parses
      decoders.set(ch.id, (bytes) => {
        const text = Buffer.from(bytes).toString("utf8");
        const m = JSON.parse(text);
        // time_ns exceeds a double's precision: read its digits.
        const t = /"time_ns":(-?[0-9]+)/.exec(text);
        return { m, stamp: t ? BigInt(t[1]) : undefined };
      });
    } else fail(`${ch.topic}: encoding ${ch.encoding}`);
    const id = client.subscribe(ch.id);
    topicOf.set(id, { topic: ch.topic, channel: ch.id, schema: ch.schemaName });
  }
});
client.on("message", ({ subscriptionId, timestamp, data }) => {
  const sub = topicOf.get(subscriptionId);
  if (!sub) fail(`message for unknown subscription ${subscriptionId}`);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const { m, stamp } = decoders.get(sub.channel)(bytes);
  if (stamp !== undefined && stamp !== timestamp) fail(`${sub.topic}: frame timestamp ${timestamp}, message says ${stamp}`);
  const t = (summary.topics[sub.topic] ??= { count: 0, timestamps: [] });
  t.count++;
  if (t.timestamps.length < 1000) t.timestamps.push(timestamp.toString());
  if (sub.schema === "foxglove.CompressedImage") {
    if (m.format !== "jpeg" || m.data[0] !== 0xff || m.data[1] !== 0xd8) fail(`${sub.topic}: not a JPEG (${m.format})`);
    t.format = m.format;
    t.bytes = m.data.length;
  }
  if (sub.schema === "foxglove.RawAudio") Object.assign(t, { format: m.format, rate: m.sample_rate, channels: m.number_of_channels });
  if (sub.schema === "foxglove.ImageAnnotations") {
    t.shapes = (t.shapes ?? 0) + (m.circles?.length ?? 0) + (m.points?.length ?? 0) + (m.texts?.length ?? 0);
    // The labels' kinds, once each: the first word ("seen", "speech", ...),
    // with "#" when a face id follows ("face 3" and "speaking 3" are "face#"
    // and "speaking#": boxes of tracked faces; "speaking -20°" is "speaking").
    for (const x of m.texts ?? []) {
      const [word, rest] = x.text.split(" ");
      const kind = /^[0-9]+$/.test(rest ?? "") ? word + "#" : word;
      if (!(t.labels ??= []).includes(kind)) t.labels.push(kind);
    }
  }
  if (sub.schema === "fusiond.decision.v1") (t.kinds ??= []).push(m.kind);
  const all = Object.keys(summary.channels);
  if (all.length && all.every((topic) => (summary.topics[topic]?.count ?? 0) >= minPer)) finish();
});

let done = false;
function finish() {
  if (done) return;
  done = true;
  clearTimeout(timer);
  console.log(JSON.stringify(summary));
  client.close();
  process.exit(0);
}
