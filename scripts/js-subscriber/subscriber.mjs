// A fusiond subscriber with the official NATS JavaScript client (npm "nats").
// See docs/SUBSCRIBERS.md.
//
//   node subscriber.mjs [--server nats://127.0.0.1:4222] [--robot demo]
//                       [--since 10m] [--count N] [--status]
//
// Prints one JSON line per decision: {"subject","msg_id","seq","kind",
// "confidence","contributions","missing","stream_seq"}.
import { connect, consumerOpts, DeliverPolicy, StringCodec } from "nats";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]?.startsWith("--") || all[i + 1] === undefined ? "true" : all[i + 1]]);
    return acc;
  }, []),
);
const server = args.server ?? "nats://127.0.0.1:4222";
const robot = args.robot ?? "*";
const count = Number(args.count ?? 0);
const sc = StringCodec();

// The schema contract: fusiond.decision.v<major>. Fields may be added
// within a major version; a new major version may change meanings.
const SUPPORTED_MAJOR = 1;
function decode(data) {
  const d = JSON.parse(sc.decode(data));
  const m = /^fusiond\.decision\.v(\d+)$/.exec(d.schema ?? "");
  if (!m || Number(m[1]) !== SUPPORTED_MAJOR) throw new Error(`unsupported schema ${d.schema}`);
  return d;
}

function parseDuration(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (!m) throw new Error(`bad duration ${s}`);
  return Number(m[1]) * { ms: 1, s: 1e3, m: 60e3, h: 3600e3 }[m[2]];
}

const opts = { servers: server, name: "fusiond-js-subscriber" };
if (process.env.NATS_USER) Object.assign(opts, { user: process.env.NATS_USER, pass: process.env.NATS_PASSWORD });
const nc = await connect(opts);

if (args.status) {
  // The control plane: nats micro service "fusiond", endpoints under
  // fusion.<robot>.ctl. (status, config, sources).
  const r = await nc.request(`fusion.${robot}.ctl.status`, sc.encode(""), { timeout: 5000 });
  const st = JSON.parse(sc.decode(r.data));
  console.log(JSON.stringify({ status: { backend: st.backend, sources: st.sources.map((s) => s.stream), connected: st.nats.connected } }));
}

let n = 0;
function print(msg, streamSeq) {
  let d;
  try {
    d = decode(msg.data);
  } catch (e) {
    console.error(`${msg.subject}: ${e.message}`);
    return false;
  }
  console.log(JSON.stringify({
    subject: msg.subject, msg_id: msg.headers?.get("Nats-Msg-Id"), seq: d.seq, kind: d.kind,
    confidence: d.confidence, contributions: d.contributions, missing: d.missing, stream_seq: streamSeq ?? 0,
  }));
  n++;
  return count > 0 && n >= count;
}

if (args.since) {
  // Replay from the robot's decision log (stream FUSIOND_<robot>), then
  // go on live: an ordered push consumer starting at a time.
  if (robot === "*") throw new Error("--since needs --robot");
  const js = nc.jetstream();
  const o = consumerOpts();
  o.orderedConsumer();
  o.deliverPolicy = DeliverPolicy.StartTime;
  o.startTime(new Date(Date.now() - parseDuration(args.since)));
  o.filterSubject(`fusion.${robot}.decision.>`);
  const sub = await js.subscribe(`fusion.${robot}.decision.>`, o);
  for await (const m of sub) {
    if (print(m, m.seq)) break;
  }
} else {
  const sub = nc.subscribe(`fusion.${robot}.decision.>`);
  for await (const m of sub) {
    if (print(m)) break;
  }
}
await nc.drain();
