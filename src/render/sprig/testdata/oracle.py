#!/usr/bin/env python3
"""Run template expressions through real helm; print TSV: expr \t ok|err \t output(escaped)."""
import sys, subprocess, os, shutil, re, json
exprs = [l.rstrip('\n') for l in open(sys.argv[1]) if l.strip() and not l.startswith('#')]
root = '/tmp/orc/chart'
def mk(tpl):
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root + '/templates')
    open(root + '/Chart.yaml', 'w').write('apiVersion: v2\nname: c\nversion: 0.1.0\n')
    open(root + '/templates/t.yaml', 'w').write(tpl)
def run():
    p = subprocess.run(['helm', 'template', 'x', root, '--debug'], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr
tpl = ''.join(f'@@{i}@@{{{{ {e} }}}}\n' for i, e in enumerate(exprs)) + '@@END@@\n'
mk(tpl)
rc, out, err = run()
results = {}
if 'Error: template' in err or rc != 0 and 'YAML parse error' not in err:
    batch_ok = False
else:
    batch_ok = True
    body = out.split('# Source: c/templates/t.yaml\n', 1)[1] if '# Source' in out else ''
    batch_ok = bool(body)
    for i in range(len(exprs)):
        if not body: break
        a = body.index(f'@@{i}@@') + len(f'@@{i}@@')
        nxt = f'@@{i+1}@@' if i + 1 < len(exprs) else '@@END@@'
        b = body.index(nxt)
        results[i] = ('ok', body[a:b][:-1])
for i, e in enumerate(exprs):
    if i not in results:
        mk(f'@@S@@{{{{ {e} }}}}@@E@@\n')
        rc, out, err = run()
        m = re.search(r'Error: (.*)', err)
        if rc == 0 and '# Source' not in out:
            results[i] = ('ok', '')
        elif '# Source: c/templates/t.yaml' in out and (rc == 0 or (m and 'YAML parse error' in m.group(1))):
            body = out.split('# Source: c/templates/t.yaml\n', 1)[1]
            results[i] = ('ok', body.split('@@S@@', 1)[1].split('@@E@@', 1)[0])
        else:
            msg = m.group(1) if m else err
            mm = re.search(r'error calling [A-Za-z0-9_]+: (.*)$', msg)
            results[i] = ('err', mm.group(1) if mm else msg)
for i, e in enumerate(exprs):
    k, v = results[i]
    print(json.dumps([e, k, v]))
