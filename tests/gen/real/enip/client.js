// The real npm `ethernet-ip` client (cmseaton42/node-ethernet-ip 1.2.5, unchanged)
// talking to target.py: what a Logix HMI or engineering tool asks a controller.
// Every request is its own; a refusal is logged and the next one follows.
// A raw socket at the end sends one SendRRData with a session handle the target
// never gave (the npm client cannot be made to).
// Usage: node client.js TARGET_IP
const net = require("net");
const { Controller, Tag, TagGroup, EthernetIP } = require("ethernet-ip");
const { DINT } = EthernetIP.CIP.DataTypes.Types;

const ip = process.argv[2];
const log = (...a) => console.log(new Date().toISOString(), ...a);

async function step(what, fn) {
    try {
        const r = await fn();
        log(what, "ok", r === undefined ? "" : r);
    } catch (e) {
        log(what, "refused:", e && e.message ? e.message : JSON.stringify(e));
    }
}

function wrongSession() {
    return new Promise(resolve => {
        const s = net.connect(44818, ip, () => {
            const cip = Buffer.from("0e03200124013007", "hex");
            const items = Buffer.alloc(16);
            items.writeUInt16LE(2, 6);          // item count
            items.writeUInt16LE(0xb2, 12);      // unconnected data item
            items.writeUInt16LE(cip.length, 14);
            const body = Buffer.concat([items, cip]);
            const hdr = Buffer.alloc(24);
            hdr.writeUInt16LE(0x6f, 0);
            hdr.writeUInt16LE(body.length, 2);
            hdr.writeUInt32LE(0xdeadbeef, 4);   // a session nobody registered
            hdr.write("x1367ids", 12, "ascii");
            s.write(Buffer.concat([hdr, body]));
        });
        s.on("data", d => { log("raw SendRRData answered", d.toString("hex")); s.end(); });
        s.on("close", resolve);
        s.on("error", e => { log("raw socket", e.message); resolve(); });
    });
}

(async () => {
    const PLC = new Controller();
    await PLC.connect(ip, 0);
    log("connected:", PLC.properties.name, PLC.properties.version);
    await step("readWallClock", () => PLC.readWallClock());
    await step("writeWallClock", () => PLC.writeWallClock(new Date(2026, 0, 15, 9, 0, 0)));
    const motor = new Tag("Motor");
    await step("read Motor", async () => { await PLC.readTag(motor); return motor.value; });
    await step("read NoSuchTag", () => PLC.readTag(new Tag("NoSuchTag")));
    const group = new TagGroup();
    group.add(new Tag("Motor"));
    group.add(new Tag("Conveyor.Speed"));
    group.add(new Tag("Valve_7"));
    await step("read group", () => PLC.readTagGroup(group));
    await step("write ReadOnly", () => PLC.writeTag(new Tag("ReadOnly", null, DINT), 5));
    await step("read Remote", () => PLC.readTag(new Tag("Remote")));   // 0xD2: the client waits 10 s
    await step("read Slow", () => PLC.readTag(new Tag("Slow")));       // no answer: 10 s
    await wrongSession();
    PLC.destroy();
    log("done");
    process.exit(0);
})().catch(e => { log("failed:", e && e.message ? e.message : e); process.exit(1); });
