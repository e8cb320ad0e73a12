#!/usr/bin/env bash
# Bad input to the CLI: each case must exit non-zero (not by a signal), with an error that
# names the file. Usage: cli_bad_input.sh path/to/laneface
set -u
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
check() {  # name expected-substring command...
  local name=$1 want=$2; shift 2
  local out rc
  out=$("$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then
    echo "FAIL $name: exit code $rc"; fail=1
  elif ! grep -qF -- "$want" <<<"$out"; then
    echo "FAIL $name: message lacks '$want': $out"; fail=1
  elif grep -qE 'Sanitizer|runtime error' <<<"$out"; then
    echo "FAIL $name: sanitizer report: $out"; fail=1
  else
    echo "ok   $name: $out"
  fi
}
: > "$dir/empty.jpg"
echo "hello, not an image" > "$dir/text.jpg"
printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00' > "$dir/truncated.jpg"
# PNG signature and an IHDR claiming 30000x30000, then nothing.
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x75\x30\x00\x00\x75\x30\x08\x02\x00\x00\x00\x00\x00\x00\x00IEND' > "$dir/huge.png"
# PNG signature and a plausible header followed by garbage: the header lies about the content.
{ printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x40\x00\x00\x00\x40\x08\x02\x00\x00\x00\x12\x34\x56\x78'; head -c 2000 /dev/urandom; printf 'IEND\xaeB`\x82'; } > "$dir/liar.png"
mkdir "$dir/folder.jpg"
check empty-file "empty.jpg" "$bin" detect "$dir/empty.jpg"
check text-file "text.jpg" "$bin" detect "$dir/text.jpg"
check truncated-jpeg "truncated.jpg" "$bin" detect "$dir/truncated.jpg"
check huge-header "30000x30000" "$bin" detect "$dir/huge.png"
check lying-png "liar.png" "$bin" detect "$dir/liar.png"
check directory "folder.jpg" "$bin" detect "$dir/folder.jpg"
check missing "nope.jpg" "$bin" detect "$dir/nope.jpg"
check compare-bad-a "text.jpg" "$bin" compare "$dir/text.jpg" "$dir/empty.jpg"
sample="$(cd "$(dirname "$0")/../.." && pwd)/var/samples/sample1.jpg"
check no-manifest "manifest.toml" "$bin" --models "$dir" detect "$sample"
mkdir "$dir/models" && cp "$(dirname "$0")/../../models/manifest.toml" "$dir/models/"
head -c 1000 /dev/urandom > "$dir/models/fr_detect.onnx"
check altered-model "SHA-256 mismatch" "$bin" --models "$dir/models" detect "$sample"
exit $fail
