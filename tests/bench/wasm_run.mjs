// Runs a MicroPython script inside the WebAssembly port (32-bit, as the ESP32 is), from Node.
//
//   node wasm_run.mjs SCRIPT ARGS_JSON DIR...
//
// Each DIR of the host is copied into the VM's in-memory filesystem at the same path (files
// there are JavaScript memory, not the GC heap), ARGS is set to the JSON list, and SCRIPT runs.
// Its output goes to stdout; an uncaught exception prints its traceback and exits 1.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "node:fs";
import path from "node:path";

const [script, argsJson, ...dirs] = process.argv.slice(2);
const mp = await loadMicroPython({
  heapsize: 4 * 1024 * 1024,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

function copyTree(src) {
  mp.FS.mkdirTree(src);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const full = path.join(src, entry.name);
    if (entry.isDirectory()) copyTree(full);
    else if (entry.isFile()) mp.FS.writeFile(full, fs.readFileSync(full));
  }
}
for (const dir of dirs) copyTree(dir);

const code = "ARGS = " + JSON.stringify(JSON.parse(argsJson)) + "\n" + fs.readFileSync(script, "utf8");
// A script with phases (tests/bench/bench_unit.py) is driven from here, from the top level:
// only there does gc.collect() free anything in this port.
function global(name) {
  try {
    return mp.globals.get(name);
  } catch {
    return undefined;
  }
}
try {
  mp.runPython(code);
  if (global("phase_import") !== undefined) {
    const run = (statement) => mp.runPython(statement);
    run("mark()");
    run("phase_import()");
    run("mark()");
    run("phase_build()");
    run("mark()");
    do run("_done = phase_first()"); while (!global("_done"));
    run("mark()");
    do {
      run("_done = hour_step()");
      run("mark()");
    } while (!global("_done"));
    run("steady()");
    run("report()");
  }
} catch (e) {
  process.stderr.write(String(e.message || e) + "\n");
  process.exit(1);
}
