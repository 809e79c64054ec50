// Runs an ONNX model with ONNX Runtime for Node.js over a batch of float32
// inputs, one at a time (the lwnpu exports have batch 1), on one thread:
//
//   node tools/train/ort_run.cjs MODEL.onnx IN.f32 N C H W OUT.f32
//
// IN.f32 holds N*C*H*W raw little-endian float32 (NCHW); OUT.f32 gets each
// output, concatenated, as raw float32. onnxruntime-node is found through
// NODE_PATH (tools/train/agreement.py sets it; tools/setup-ort installs it).
// Exit status 0, 1 on a failure (one line on stderr), 2 on a bad command line.
'use strict';
const fs = require('fs');

function usage(msg) {
	process.stderr.write(`ort_run: ${msg}\nusage: node ort_run.cjs MODEL.onnx IN.f32 N C H W OUT.f32\n`);
	process.exit(2);
}

async function main() {
	const a = process.argv.slice(2);
	if (a.length !== 7)
		usage('want 7 arguments');
	const [model, inPath] = a;
	const [n, c, h, w] = a.slice(2, 6).map(Number);
	if (![n, c, h, w].every((v) => Number.isInteger(v) && v > 0))
		usage('N C H W must be positive integers');
	const ort = require('onnxruntime-node');
	const raw = fs.readFileSync(inPath);
	const per = c * h * w;
	if (raw.length !== n * per * 4)
		throw new Error(`${inPath}: ${raw.length} bytes, want ${n * per * 4}`);
	const x = new Float32Array(raw.buffer, raw.byteOffset, n * per);
	const sess = await ort.InferenceSession.create(model, {
		intraOpNumThreads: 1,
		interOpNumThreads: 1,
	});
	const inName = sess.inputNames[0];
	const outName = sess.outputNames[0];
	const outs = [];
	for (let i = 0; i < n; i++) {
		const t = new ort.Tensor('float32', x.slice(i * per, (i + 1) * per), [1, c, h, w]);
		const r = await sess.run({ [inName]: t });
		outs.push(Float32Array.from(r[outName].data));
	}
	const len = outs.reduce((s, o) => s + o.length, 0);
	const y = new Float32Array(len);
	let at = 0;
	for (const o of outs) {
		y.set(o, at);
		at += o.length;
	}
	fs.writeFileSync(a[6], Buffer.from(y.buffer));
	process.stdout.write(`onnxruntime-node ${require('onnxruntime-node/package.json').version}\n`);
}

main().catch((e) => {
	process.stderr.write(`ort_run: ${e.message.split('\n')[0]}\n`);
	process.exit(1);
});
