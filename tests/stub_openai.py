"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for fault-injection tests (not a test file itself)."""
import json, math, threading, time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _lp(pairs):
    return [{'token': t, 'logprob': math.log(p), 'bytes': list(t.encode())} for t, p in pairs]


class StubOpenAI:
    """Answers /v1/chat/completions, /v1/embeddings and /v1/models; `script` holds the behaviour of the next requests.

    Behaviours: 'ok', 'timeout', 'truncated', 'nonjson', 'noshape', 'nologprobs', 'unparseable', or an HTTP status
    code as a string ('500', '429', '400', '404', '501', ...). With the script empty, requests get 'ok'."""

    def __init__(self, delay: float = 0.0, hang_s: float = 3.0):
        self.script, self.requests, self.delay, self.hang_s = deque(), [], delay, hang_s
        self._lock = threading.Lock()
        stub = self

        class H(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def log_message(self, *a): pass
            def _send(self, code, body: bytes, ctype='application/json', length=None, headers=()):
                self.send_response(code)
                self.send_header('Content-Type', ctype)
                self.send_header('Content-Length', str(len(body) if length is None else length))
                for k, v in headers: self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body); self.wfile.flush()
            def do_GET(self):
                self._send(200, json.dumps({'object': 'list', 'data': [{'id': 'stub-model', 'object': 'model'}]}).encode())
            def do_POST(self):
                n = int(self.headers.get('Content-Length', 0))
                body = json.loads(self.rfile.read(n) or b'{}')
                with stub._lock:
                    what = stub.script.popleft() if stub.script else 'ok'
                    stub.requests.append(dict(path=self.path, body=body, behaviour=what,
                                              auth=self.headers.get('Authorization')))
                if stub.delay: time.sleep(stub.delay)
                if what.isdigit():
                    code = int(what)
                    msg = {404: f"The model `{body.get('model')}` does not exist.", 400: 'context length exceeded',
                           501: 'This server does not support embeddings.'}.get(code, f'injected error {code}')
                    hdr = [('Retry-After', '0')] if code == 429 else []
                    return self._send(code, json.dumps({'error': {'message': msg, 'code': code}}).encode(), headers=hdr)
                if what == 'timeout':
                    time.sleep(stub.hang_s)
                if what == 'truncated':
                    self._send(200, b'{"choices": [{"mess', length=4000); self.close_connection = True; return
                if what == 'nonjson': return self._send(200, b'<html>502 bad gateway</html>', ctype='text/html')
                if what == 'noshape': return self._send(200, b'{"unexpected": true}')
                if self.path.endswith('/embeddings'):
                    inp = body['input'] if isinstance(body['input'], list) else [body['input']]
                    data = [{'object': 'embedding', 'index': i, 'embedding': [float(len(t)), 1.0, float(sum(map(ord, t)) % 7)]}
                            for i, t in enumerate(inp)]
                    return self._send(200, json.dumps({'object': 'list', 'data': data, 'model': body.get('model'),
                                                       'usage': {'prompt_tokens': 3 * len(inp), 'total_tokens': 3 * len(inp)}}).encode())
                msgs = body.get('messages', [])
                last = msgs[-1] if msgs else {}
                if what == 'unparseable':
                    text, top = 'I would rather not say.', [('I', .7), ('As', .2), ('Sorry', .05)]
                elif last.get('role') == 'assistant' and last.get('content') == '1':
                    text, top = '0', [('0', .6), ('', .4)]
                else:
                    text, top = '1', [('1', .5), ('2', .3), ('x', .1)]
                choice = {'index': 0, 'message': {'role': 'assistant', 'content': text}, 'finish_reason': 'stop'}
                if body.get('logprobs') and what != 'nologprobs':
                    choice['logprobs'] = {'content': [{**_lp(top[:1])[0], 'top_logprobs': _lp(top)}]}
                usage = {'prompt_tokens': 10 * len(msgs), 'completion_tokens': 1, 'total_tokens': 10 * len(msgs) + 1}
                self._send(200, json.dumps({'id': 'x', 'object': 'chat.completion', 'model': body.get('model'),
                                            'choices': [choice], 'usage': usage}).encode())

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), H)
        self.httpd.daemon_threads = True
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}/v1'
        self._t = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self): self._t.start(); return self
    def __exit__(self, *a): self.httpd.shutdown(); self.httpd.server_close()
