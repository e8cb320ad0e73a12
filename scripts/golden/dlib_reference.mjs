// Reference template of dlib's ResNet-29 for one 150x150 face chip, computed by the JavaScript
// library itself (@vladmandic/face-api on the tfjs CPU backend), for tests/models/dlib_golden_test.cpp.
//
//   npm install --prefix models/.cache @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
//   node scripts/golden/dlib_reference.mjs tests/data/dlib_chip_sample3.png > tests/data/dlib_chip_sample3.json
//
// face-api's CommonJS build for the wasm backend (dist/face-api.node-wasm.js, from the tarball
// scripts/setup fetched into models/.cache/faceapi) requires @tensorflow/tfjs, found in
// models/.cache/node_modules; it runs on tfjs's pure-JS "cpu" backend here. The bundled ESM build
// fails under Node ("TextEncoder is not a constructor"), the no-bundle ESM build cannot resolve
// tfjs's extension-less imports, and the default Node build needs the native tfjs-node. The weights are read from models/
// (the files scripts/setup verified), not from the package.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const faceapi = require(path.join(root, 'models/.cache/faceapi/package/dist/face-api.node-wasm.js'));
const { tf } = faceapi;

// 8-bit RGB or RGBA, non-interlaced PNG -> Float32 RGB (0..255), row-major HWC.
function readPng(file) {
  const buf = fs.readFileSync(file);
  let pos = 8;
  let width = 0; let height = 0; let channels = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      const depth = data[8]; const color = data[9]; const interlace = data[12];
      channels = { 2: 3, 6: 4 }[color];
      if (depth !== 8 || !channels || interlace !== 0) throw new Error(`${file}: only 8-bit RGB(A) non-interlaced PNG`);
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[y * stride + x - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels] : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c; const pa = Math.abs(p - a); const pb = Math.abs(p - b); const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c);
      }
      px[y * stride + x] = (line[x] + pred) & 255;
    }
  }
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) for (let k = 0; k < 3; k++) rgb[i * 3 + k] = px[i * channels + k];
  return { width, height, rgb };
}

const [chipFile] = process.argv.slice(2);
if (!chipFile) throw new Error('usage: node scripts/golden/dlib_reference.mjs CHIP.png > REFERENCE.json');
await tf.setBackend('cpu');
await tf.ready();
const specs = JSON.parse(fs.readFileSync(path.join(root, 'models/dlib_resnet-weights_manifest.json'), 'utf8'));
const bin = fs.readFileSync(path.join(root, 'models/dlib_resnet.bin'));
const weightMap = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length),
  specs.flatMap((group) => group.weights));
const net = new faceapi.FaceRecognitionNet();
net.loadFromWeightMap(weightMap);
const { width, height, rgb } = readPng(chipFile);
const input = tf.tensor3d(rgb, [height, width, 3], 'float32');
const descriptor = await net.computeFaceDescriptor(input);
console.log(JSON.stringify({
  chip: path.basename(chipFile),
  producer: `@vladmandic/face-api@${faceapi.version} tfjs ${tf.version_core} backend ${tf.getBackend()}`,
  descriptor: Array.from(descriptor),
}));
