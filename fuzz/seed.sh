#!/bin/sh
# Seeds the gotmpl fuzz corpora from the engine case files
# (template, then a NUL byte, then the case's top-level values as
# key=value lines, the format the exec target reads).
set -e
cd "$(dirname "$0")"
mkdir -p corpus/gotmpl_parse corpus/gotmpl_exec
python3 - <<'PY'
import glob, os, re
n = 0
for f in sorted(glob.glob('../tests/cases/engine/*.txt')):
    text = open(f, encoding='utf-8').read()
    for block in re.split(r'^=== .*\n', text, flags=re.M)[1:]:
        values, tpl, cur = [], [], None
        for line in block.splitlines(keepends=True):
            if line.rstrip('\r\n') == '--- values': cur = values; continue
            if line.rstrip('\r\n') == '--- template': cur = tpl; continue
            if cur is not None: cur.append(line)
        t, v = ''.join(tpl), ''.join(values)
        n += 1
        open(f'corpus/gotmpl_parse/case{n}', 'w', encoding='utf-8').write(t)
        kv = []
        for line in v.splitlines():
            if ':' in line and not line.startswith(' '):
                k, _, rest = line.partition(':')
                kv.append(k.strip() + '=' + rest.strip().strip('[]{}').replace(', ', ','))
        open(f'corpus/gotmpl_exec/case{n}', 'w', encoding='utf-8').write(t + '\0' + '\n'.join(kv))
print(f'{n} seeds')
PY
