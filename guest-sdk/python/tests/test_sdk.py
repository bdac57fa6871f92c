"""Unit tests of the Python SDK on plain CPython (no host): the pieces that
do not need the WebAssembly build. The guests built with it are tested end
to end under the real host in tests/python_guests.rs."""

import array
import doctest
import importlib
import sys
import tempfile
import types
import unittest
from pathlib import Path

import wasm_lambda
from wasm_lambda import _glue, _hooks, _host, build, models
from wasm_lambda.models import InvalidInput, Tensor

ROOT = Path(__file__).resolve().parents[3]


def load_tests(loader, tests, ignore):
    # The docs' examples run as written.
    for name in ("wasm_lambda", "wasm_lambda.context", "wasm_lambda.errors", "wasm_lambda.log",
                 "wasm_lambda.models", "wasm_lambda.config", "wasm_lambda.http"):
        tests.addTests(doctest.DocTestSuite(importlib.import_module(name)))
    return tests


class Tensors(unittest.TestCase):
    def test_nested_lists_give_shape_and_element_type(self):
        t = Tensor([[1, 2, 3], [4, 5, 6]])
        self.assertEqual((t.shape, t.dtype, t.values), ([2, 3], "int64", [1, 2, 3, 4, 5, 6]))
        self.assertEqual(Tensor([[1.5, 2]]).dtype, "float32")
        self.assertEqual(Tensor([True, False]).dtype, "bool")
        self.assertEqual(Tensor([["basic"], ["pro"]]).dtype, "string")
        self.assertEqual(Tensor([["basic"], ["pro"]]).shape, [2, 1])
        with self.assertRaisesRegex(InvalidInput, "not a string"):
            Tensor([["basic"], [3]], dtype="string")
        with self.assertRaisesRegex(InvalidInput, "not a float32"):
            Tensor([["basic", 1.0]], dtype="float32")
        self.assertEqual(Tensor(3.5).shape, [])
        self.assertEqual(Tensor([]).shape, [0])
        self.assertEqual(Tensor(b"\x01\x02").dtype, "uint8")

    def test_array_array_element_types_follow_the_typecode(self):
        self.assertEqual(Tensor(array.array("f", [1, 2])).dtype, "float32")
        self.assertEqual(Tensor(array.array("d", [1, 2])).dtype, "float64")
        self.assertEqual(Tensor(array.array("q", [1, 2])).dtype, "int64")
        self.assertEqual(Tensor(array.array("B", [1, 2])).dtype, "uint8")
        self.assertEqual(Tensor(array.array("i", [1, 2])).dtype, "int32")

    def test_bad_values_are_invalid_input_not_crashes(self):
        with self.assertRaisesRegex(InvalidInput, "ragged"):
            Tensor([[1, 2], [3]])
        with self.assertRaisesRegex(InvalidInput, "holds 4 elements"):
            Tensor([1, 2, 3], shape=[2, 2])
        with self.assertRaisesRegex(InvalidInput, "not a int64"):
            Tensor(["a"], dtype="int64")
        with self.assertRaisesRegex(InvalidInput, "out of range for int32"):
            Tensor([2**40], dtype="int32")
        with self.assertRaisesRegex(InvalidInput, "not a whole number"):
            Tensor([1.5], dtype="int64")
        with self.assertRaisesRegex(InvalidInput, "unknown element type"):
            Tensor([1], dtype="complex")

    def test_outputs_nest_by_shape(self):
        self.assertEqual(models._nest([1, 2, 3, 4, 5, 6], [2, 3]), [[1, 2, 3], [4, 5, 6]])
        self.assertEqual(models._nest(list(range(8)), [2, 2, 2]), [[[0, 1], [2, 3]], [[4, 5], [6, 7]]])
        self.assertEqual(models._nest([7], []), 7)
        self.assertEqual(models._nest([], [2, 0]), [[], []])
        self.assertEqual(Tensor([[1, 2], [3, 4]]).tolist(), [[1, 2], [3, 4]])


class Hooks(unittest.TestCase):
    def setUp(self):
        self.saved = (_hooks.init, _hooks.handler, _hooks.warm)
        _hooks.init = _hooks.handler = _hooks.warm = None

    def tearDown(self):
        _hooks.init, _hooks.handler, _hooks.warm = self.saved

    def test_a_second_handler_is_refused_by_name(self):
        @wasm_lambda.handler
        def first(event, ctx):
            return 1

        with self.assertRaisesRegex(TypeError, "two @wasm_lambda.handler functions"):
            @wasm_lambda.handler
            def second(event, ctx):
                return 2

    def test_an_app_without_a_handler_does_not_build(self):
        module = types.ModuleType("no_handler_app")
        sys.modules["no_handler_app"] = module
        try:
            with self.assertRaisesRegex(RuntimeError, "has no @wasm_lambda.handler"):
                _glue.load_app("no_handler_app")
        finally:
            del sys.modules["no_handler_app"]

    def test_host_services_at_import_time_say_why_they_fail(self):
        self.assertFalse(_host._serving)
        with self.assertRaisesRegex(_host.NotInGuest, "only available from init, handle or warm"):
            wasm_lambda.config("key")
        with self.assertRaisesRegex(_host.NotInGuest, "only available from init"):
            models.Model("m").classify([[1.0]])


class FakeBindings:
    """Stand-ins for the generated modules `_glue` raises errors through."""

    def __enter__(self):
        class Err(Exception):
            def __init__(self, value):
                super().__init__(value)
                self.value = value

        class GuestError:
            def __init__(self, kind, message):
                self.kind, self.message = kind, message

        types_module = types.ModuleType("wit_world.imports.wasm_lambda_guest_types")
        types_module.GuestError = GuestError
        imports = types.ModuleType("wit_world.imports")
        imports.wasm_lambda_guest_types = types_module
        world = types.ModuleType("wit_world")
        world.imports = imports
        cpt = types.ModuleType("componentize_py_types")
        cpt.Err = Err
        self.added = {"wit_world": world, "wit_world.imports": imports,
                      "wit_world.imports.wasm_lambda_guest_types": types_module, "componentize_py_types": cpt}
        sys.modules.update(self.added)
        return Err

    def __exit__(self, *exc):
        for name in self.added:
            del sys.modules[name]


class Answers(unittest.TestCase):
    def answer_of(self, call):
        with FakeBindings() as Err:
            try:
                return ("ok", _glue._guarded("handle", call))
            except Err as err:
                return ("err", err.value.kind, err.value.message)

    def test_guest_error_answers_as_itself(self):
        def raise_it():
            raise wasm_lambda.GuestError("ValidationError", "bad quantity")
        self.assertEqual(self.answer_of(raise_it), ("err", "ValidationError", "bad quantity"))

    def test_any_other_exception_is_named_after_its_class_with_the_traceback_logged(self):
        import contextlib
        import io

        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # outside a guest the log falls back to print
            answer = self.answer_of(lambda: {}["missing"])
        self.assertEqual(answer[:2], ("err", "KeyError"))
        self.assertIn("'missing' (uncaught in handle; traceback in the log)", answer[2])
        self.assertIn("Traceback (most recent call last)", printed.getvalue())
        self.assertNotIn("_guarded", printed.getvalue(), "the glue's own frames are left out")
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(self.answer_of(lambda: sys.exit(3))[:2], ("err", "SystemExit"))

    def test_values_answer_and_unserialisable_ones_are_invalid_output(self):
        self.assertEqual(self.answer_of(lambda: {"a": 1}), ("ok", {"a": 1}))
        with FakeBindings() as Err:
            self.assertEqual(_glue._encode({"a": [1, 2.5, None]}, "answer"), b'{"a":[1,2.5,null]}')
            with self.assertRaises(Err) as raised:
                _glue._encode({1, 2}, "answer")
            self.assertEqual(raised.exception.value.kind, "InvalidOutput")
            with self.assertRaises(Err) as raised:
                _glue._encode(float("nan"), "answer")
            self.assertEqual(raised.exception.value.kind, "InvalidOutput")


class Context(unittest.TestCase):
    def test_lambda_runtime_names_are_aliases(self):
        ctx = wasm_lambda.Context(request_id="r-1", memory_limit_mb=256, deadline_ms=2**62)
        self.assertEqual(ctx.aws_request_id, "r-1")
        self.assertEqual(ctx.memory_limit_in_mb, 256)
        self.assertGreater(ctx.get_remaining_time_in_millis(), 0)
        self.assertEqual(wasm_lambda.Context(deadline_ms=1).remaining_time_ms(), 0)

    def test_client_context_and_identity_are_shaped_as_lambdas_python_runtime(self):
        from wasm_lambda.context import ClientContext, CognitoIdentity

        raw = '{"client": {"installation_id": "i-1", "app_title": "shop"}, "custom": {"n": 1}, "env": {"locale": "de"}}'
        ctx = wasm_lambda.Context(client_context=ClientContext.parse(raw),
                                  identity=CognitoIdentity.parse('{"cognitoIdentityId": "id-7"}'))
        self.assertEqual(ctx.client_context.client.installation_id, "i-1")
        self.assertIsNone(ctx.client_context.client.app_version_code)
        self.assertEqual((ctx.client_context.custom, ctx.client_context.env), ({"n": 1}, {"locale": "de"}))
        self.assertEqual(ctx.client_context.raw, raw)
        self.assertEqual(ctx.identity.cognito_identity_id, "id-7")
        self.assertIsNone(ctx.identity.cognito_identity_pool_id)
        # Without them: no client context, an identity whose ids are None.
        bare = wasm_lambda.Context()
        self.assertIsNone(bare.client_context)
        self.assertIsNone(bare.identity.cognito_identity_id)
        self.assertIsNone(ClientContext.parse(None))
        self.assertIsNone(ClientContext.parse("not json").client)


class Http(unittest.TestCase):
    def test_responses_read_as_requests_users_expect(self):
        from wasm_lambda import http

        r = http.Response(503, [("Set-Cookie", "a=1"), ("set-cookie", "b=2")], b"busy")
        self.assertEqual(r.headers["set-cookie"], "a=1, b=2")
        self.assertEqual(r.header_list, [("set-cookie", "a=1"), ("set-cookie", "b=2")])
        with self.assertRaises(http.Status) as raised:
            r.raise_for_status()
        self.assertEqual((raised.exception.kind, raised.exception.status), ("Status", 503))
        with self.assertRaises(http.JsonError):
            r.json()
        self.assertIs(http.Response(204, [], b"").raise_for_status().ok, True)

    def test_bad_requests_fail_before_reaching_the_host(self):
        from wasm_lambda import http

        with self.assertRaisesRegex(http.InvalidRequest, "json or data"):
            http.request("POST", "https://x.example", json={}, data=b"")
        with self.assertRaisesRegex(http.JsonError, "not JSON-serialisable"):
            http.post("https://x.example", json={"a": {1, 2}})
        with self.assertRaisesRegex(http.InvalidRequest, "names and values must be text"):
            http.get("https://x.example", headers={"n": 1})


class Build(unittest.TestCase):
    def test_the_shipped_wit_is_the_hosts_newest_contract(self):
        shipped = Path(build.package_wit(), "deps", "wasm-lambda-guest", "guest.wit").read_bytes()
        self.assertEqual(shipped, (ROOT / "guest-sdk" / "wit" / "0.2.0" / "guest.wit").read_bytes(),
                         "copy guest-sdk/wit/0.2.0/guest.wit into "
                         "guest-sdk/python/src/wasm_lambda/wit/deps/wasm-lambda-guest/")
        world = Path(build.package_wit(), "world.wit").read_text()
        self.assertIn("include wasm-lambda:guest/guest@0.2.0;", world)
        self.assertIn("import wasi:http/outgoing-handler@0.2.12;", world)

    def test_app_names_are_checked_before_building(self):
        with tempfile.TemporaryDirectory() as folder:
            for name, message in (("wit_world.py", "reserved"), ("my-app.py", "not a valid module name"),
                                  ("app.txt", "not a Python file"), ("missing.py", "no such file")):
                path = Path(folder, name)
                if name != "missing.py":
                    path.write_text("")
                with self.assertRaisesRegex(build.BuildError, message):
                    build.build(path, Path(folder, "out.wasm"))

    def test_native_extension_modules_are_found(self):
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "numpy", "core").mkdir(parents=True)
            Path(folder, "numpy", "core", "_multiarray.cpython-311-x86_64-linux-gnu.so").write_text("")
            Path(folder, "six.py").write_text("")
            self.assertEqual(build.native_extensions(Path(folder)), ["numpy"])

    def test_the_command_line_reports_errors_without_a_traceback(self):
        from wasm_lambda.__main__ import main

        with tempfile.TemporaryDirectory() as folder:
            self.assertEqual(main(["build", str(Path(folder, "nope.py"))]), 1)


if __name__ == "__main__":
    unittest.main()
