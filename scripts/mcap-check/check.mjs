// Reads a fusiond MCAP recording with the TypeScript MCAP implementation
// (@mcap/core, through the summary and chunk indexes) and decodes its
// messages with protobufjs, using the schemas stored in the file. Checks
// that those schemas are field for field the ones Foxglove defines
// (@foxglove/schemas), and prints a JSON summary (messages per topic,
// schemas) for the Go test to compare with what it wrote.
//
// Usage: node check.mjs FILE.mcap
import { open } from "node:fs/promises";
import { McapIndexedReader } from "@mcap/core";
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import schemasInternal from "@foxglove/schemas/internal.js";
const { foxgloveMessageSchemas, generateProto } = schemasInternal;
import lz4 from "@foxglove/wasm-lz4";
import zstd from "@foxglove/wasm-zstd";

const fail = (msg) => {
  console.error("mcap-check: " + msg);
  process.exit(1);
};

const path = process.argv[2];
if (!path) fail("usage: node check.mjs FILE.mcap");
await lz4.isLoaded;
await zstd.isLoaded;
const handle = await open(path, "r");
const readable = {
  size: async () => BigInt((await handle.stat()).size),
  read: async (offset, length) => {
    const buf = new Uint8Array(Number(length));
    await handle.read(buf, 0, Number(length), Number(offset));
    return buf;
  },
};
const reader = await McapIndexedReader.Initialize({
  readable,
  decompressHandlers: {
    lz4: (data, size) => lz4(data, Number(size)),
    zstd: (data, size) => zstd.decompress(data, Number(size)),
  },
});

// The official definition of a Foxglove message, as a protobufjs type.
const official = (name) => protobuf.parse(generateProto(foxgloveMessageSchemas[name], []), { keepCase: true }).root.lookupType("foxglove." + name);
// Fields as id:name:type, without the metadata fields fusiond leaves out
// (and ImageAnnotations' own timestamp: its shapes carry theirs), as
// scripts/foxglove-check compares the live view's.
const fieldsOf = (type, typeName = (t) => t.replace(/^\./, "")) =>
  Object.values(type.fields)
    .filter((f) => f.name !== "metadata" && !(type.name === "ImageAnnotations" && f.name === "timestamp"))
    .map((f) => `${f.id}:${f.name}:${typeName(f.type)}`)
    .sort()
    .join(",");

const types = new Map(); // schema id -> protobufjs type
const summary = { schemas: {}, topics: {}, footer: true };
for (const schema of reader.schemasById.values()) {
  summary.schemas[schema.name] = schema.encoding;
  if (schema.encoding !== "protobuf") continue;
  const set = descriptor.FileDescriptorSet.decode(schema.data);
  const root = protobuf.Root.fromDescriptor(set);
  const type = root.lookupType(schema.name);
  const name = schema.name.replace(/^foxglove\./, "");
  if (!foxgloveMessageSchemas[name]) fail(`schema ${schema.name} is not a Foxglove schema`);
  const ours = fieldsOf(type);
  const theirs = fieldsOf(official(name));
  if (ours !== theirs) fail(`schema ${schema.name} differs from Foxglove's:\n  ours   ${ours}\n  theirs ${theirs}`);
  if (name === "ImageAnnotations")
    for (const sub of ["CircleAnnotation", "PointsAnnotation", "TextAnnotation", "Point2", "Color"]) {
      const t = root.lookupType("foxglove." + sub);
      const last = (t) => t.split(".").pop(); // nested types are named relative to their message
      if (fieldsOf(t, last) !== fieldsOf(official(sub), last)) fail(`${sub}: fields ${fieldsOf(t, last)}, Foxglove's ${fieldsOf(official(sub), last)}`);
    }
  types.set(schema.id, type);
}

for await (const msg of reader.readMessages()) {
  const channel = reader.channelsById.get(msg.channelId);
  const t = (summary.topics[channel.topic] ??= { messages: 0 });
  t.messages++;
  const type = types.get(channel.schemaId);
  if (!type) {
    JSON.parse(new TextDecoder().decode(msg.data)); // fusiond's own channels are JSON
    continue;
  }
  const m = type.toObject(type.decode(msg.data), { longs: String });
  const stamp = (ts) => BigInt(ts.seconds) * 1000000000n + BigInt(ts.nanos ?? 0);
  if (type.name === "ImageAnnotations") {
    // No timestamp of its own: each shape carries the image's.
    const shapes = [...(m.circles ?? []), ...(m.points ?? []), ...(m.texts ?? [])];
    for (const s of shapes)
      if (stamp(s.timestamp) !== msg.publishTime) fail(`${channel.topic}: shape timestamp ${stamp(s.timestamp)} != publish time ${msg.publishTime}`);
    t.shapes = (t.shapes ?? 0) + shapes.length;
    continue;
  }
  const stampNs = stamp(m.timestamp);
  if (stampNs !== msg.publishTime) fail(`${channel.topic}: timestamp ${stampNs} != publish time ${msg.publishTime}`);
  if (type.name === "RawImage") {
    if (m.data.length !== m.step * m.height || !["bgr8", "mono8"].includes(m.encoding))
      fail(`${channel.topic}: image ${m.width}x${m.height} ${m.encoding} step ${m.step} with ${m.data.length} bytes`);
    Object.assign(t, { width: m.width, height: m.height, encoding: m.encoding });
  } else if (type.name === "RawAudio") {
    if (m.format !== "pcm-s16" || m.data.length % (2 * m.number_of_channels) !== 0)
      fail(`${channel.topic}: audio ${m.format} ${m.number_of_channels} channels with ${m.data.length} bytes`);
    Object.assign(t, { sample_rate: m.sample_rate, channels: m.number_of_channels });
  }
}
await handle.close();
console.log(JSON.stringify(summary));
