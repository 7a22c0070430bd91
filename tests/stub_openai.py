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
                # headers and body in one write (two small writes meet Nagle's algorithm and delayed ACKs: +40 ms each)
                self._headers_buffer.append(b'\r\n' + body); self.flush_headers()
            def do_GET(self):
                # it continues a trailing assistant message as llama.cpp's server does, and says so
                self._send(200, json.dumps({'object': 'list', 'data': [{'id': 'stub-model', 'object': 'model', 'owned_by': 'llamacpp'}]}).encode())
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


# --- stand-ins that behave as each kind of server does -------------------------------------------------------------
# What differs between servers, as their documentation and code say:
#  - assistant continuation: llama.cpp's server continues a trailing assistant message; vLLM only with
#    `continue_final_message: true` and `add_generation_prompt: false` (both true is a 400); DeepSeek only with
#    `prefix: true` on that message, on its /beta base URL; OpenAI's Chat Completions always starts a fresh reply;
#  - tokenizers: OpenAI's has a token for "10"; Qwen's and Llama's (vLLM, llama.cpp) split numbers into digits;
#  - parameters: OpenAI's newer models refuse `max_tokens` (they take `max_completion_tokens`) and reasoning models
#    refuse a temperature other than 1;
#  - /v1/models names the server in `owned_by` ('vllm', 'llamacpp'; OpenAI says 'openai' or 'system').
SPLIT_DIGITS = dict(first=[('1', .85), ('2', .10), ('3', .05)], after={'1': [('<|im_end|>', .70), ('0', .30)]})
WHOLE_NUMBERS = dict(first=[('1', .60), ('10', .25), ('2', .10), ('3', .05)], after={})
OWNED_BY = {'openai': 'system', 'vllm': 'vllm', 'llamacpp': 'llamacpp', 'deepseek': 'deepseek', 'generic': 'someone'}
REASONING = ('o1', 'o3', 'o4', 'gpt-5')


class KindStandIn:
    """An OpenAI-compatible server on 127.0.0.1 that behaves as `kind` does ('openai', 'vllm', 'deepseek', 'llamacpp',
    'generic'): it answers from a planted first-token distribution and, where that kind continues an assistant message
    (and only with the fields that kind needs), from the planted distribution after the prefix. `status` answers every
    chat request with that HTTP error instead (`error` is the body's error object)."""

    def __init__(self, kind: str, tokens: dict | None = None, status: int | None = None, error: dict | None = None,
                 delay: float = 0.0):
        self.kind, self.status, self.error, self.delay = kind, status, error or {}, delay
        self.tokens = tokens or (WHOLE_NUMBERS if kind == 'openai' else SPLIT_DIGITS)
        self.requests, self._lock = [], threading.Lock()
        stub = self

        class H(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def log_message(self, *a): pass
            def _send(self, code, obj):
                body = json.dumps(obj).encode()
                self.send_response(code); self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self._headers_buffer.append(b'\r\n' + body); self.flush_headers()   # one write, as in StubOpenAI
            def do_GET(self):
                with stub._lock: stub.requests.append(dict(method='GET', path=self.path))
                if self.path.endswith('/models'):
                    return self._send(200, {'object': 'list', 'data': [{'id': 'm', 'object': 'model', 'owned_by': OWNED_BY[stub.kind]}]})
                self._send(404, {'error': {'message': 'not found'}})
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))) or b'{}')
                with stub._lock: stub.requests.append(dict(method='POST', path=self.path, body=body))
                if stub.delay: time.sleep(stub.delay)
                if stub.status: return self._send(stub.status, {'error': {'message': f'error {stub.status}', **stub.error}})
                if (bad := stub._refuse(self.path, body)): return self._send(400, {'error': bad})
                msgs = body.get('messages', [])
                last = msgs[-1] if msgs else {}
                top = stub.tokens['first']
                if last.get('role') == 'assistant' and stub._continues(self.path, body, last):
                    top = stub.tokens['after'].get(last.get('content'), [('<|im_end|>', 1.0)])
                choice = {'index': 0, 'message': {'role': 'assistant', 'content': top[0][0]}, 'finish_reason': 'length'}
                if body.get('logprobs'):
                    choice['logprobs'] = {'content': [{**_lp(top[:1])[0], 'top_logprobs': _lp(top[:body.get('top_logprobs') or 1])}]}
                self._send(200, {'id': 'x', 'object': 'chat.completion', 'model': body.get('model'), 'choices': [choice],
                                 'usage': {'prompt_tokens': 10, 'completion_tokens': 1, 'total_tokens': 11}})

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), H)
        self.httpd.daemon_threads = True
        self.root = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self.url = self.root + '/v1'
        self._t = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _refuse(self, path, body):
        "The 400 error object this kind gives for parameters it does not take, or None."
        model = str(body.get('model', ''))
        if self.kind == 'openai':
            if 'max_tokens' in body and model.startswith(REASONING):
                return {'message': "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
                        'type': 'invalid_request_error', 'param': 'max_tokens', 'code': 'unsupported_parameter'}
            if model.startswith(REASONING) and body.get('temperature', 1) != 1:
                return {'message': "Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) value is supported.",
                        'type': 'invalid_request_error', 'param': 'temperature', 'code': 'unsupported_value'}
            if any(k in body for k in ('continue_final_message', 'add_generation_prompt')):
                return {'message': f"Unrecognized request argument supplied: continue_final_message", 'type': 'invalid_request_error'}
        if self.kind == 'vllm' and body.get('continue_final_message') and body.get('add_generation_prompt', True):
            return {'message': 'Cannot set both `continue_final_message` and `add_generation_prompt` to True.'}
        return None

    def _continues(self, path, body, last) -> bool:
        "Whether this kind continues the trailing assistant message of this request."
        if self.kind == 'llamacpp': return True
        if self.kind == 'vllm': return bool(body.get('continue_final_message')) and body.get('add_generation_prompt') is False
        if self.kind == 'deepseek': return bool(last.get('prefix')) and '/beta/' in path
        return False

    def __enter__(self): self._t.start(); return self
    def __exit__(self, *a): self.httpd.shutdown(); self.httpd.server_close()
