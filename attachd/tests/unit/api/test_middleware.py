"""The WSGI middleware of the paste pipeline, each around a stub application: what each
adds to the request and the response, and that oslo.middleware's filters still act on
the requests they are skipped for otherwise (Origin, OPTIONS, proxy headers, bodies of
unknown length)."""

from oslo_middleware import cors
import webob

from attachd.api import microversion
from attachd.api import middleware
from attachd.conf import CONF
from attachd.tests import base


def stub(status='200 OK', headers=(('Content-Type', 'application/json'),), body=b'{}'):
    """An application answering ``status``, ``headers`` and ``body``; it records the
    environ it was called with as ``stub.environ``."""
    def app(environ, start_response):
        app.environ = environ
        start_response(status, list(headers))
        return [body]
    app.environ = None
    return app


def get(app, path='/v3/', **kwargs):
    return webob.Request.blank(path, **kwargs).get_response(app)


class RequestIdTest(base.TestCase):

    def test_every_response_gets_both_request_id_headers(self):
        app = stub()
        response = get(middleware.RequestId(app))
        request_id = app.environ['openstack.request_id']
        self.assertRegex(request_id, '^req-[0-9a-f-]{36}$')
        self.assertEqual(request_id, response.headers['x-openstack-request-id'])
        self.assertEqual(request_id, response.headers['x-compute-request-id'])

    def test_a_header_the_application_set_is_kept(self):
        app = stub(headers=[('X-OpenStack-Request-Id', 'req-mine')])
        response = get(middleware.RequestId(app))
        self.assertEqual(['req-mine'], response.headers.getall('x-openstack-request-id'))
        self.assertEqual(app.environ['openstack.request_id'],
                         response.headers['x-compute-request-id'])

    def test_global_request_id_is_taken_only_when_well_formed(self):
        good = 'req-11111111-2222-3333-4444-555555555555'
        app = stub()
        get(middleware.RequestId(app), headers={'X-OpenStack-Request-Id': good})
        self.assertEqual(good, app.environ['openstack.global_request_id'])
        get(middleware.RequestId(app), headers={'X-OpenStack-Request-Id': 'req-x'})
        self.assertNotIn('openstack.global_request_id', app.environ)


class CORSTest(base.TestCase):

    def setUp(self):
        super().setUp()
        CONF.register_opts(cors.CORS_OPTS, 'cors')
        self.flags(group='cors', allowed_origin=['https://dashboard.example'])

    def test_allowed_origin_is_answered(self):
        app = middleware.cors_factory({})(stub())
        response = get(app, headers={'Origin': 'https://dashboard.example'})
        self.assertEqual('https://dashboard.example',
                         response.headers['Access-Control-Allow-Origin'])
        self.assertIn('Origin', response.headers['Vary'])

    def test_request_without_origin_is_left_alone(self):
        response = get(middleware.cors_factory({})(stub()))
        self.assertNotIn('Access-Control-Allow-Origin', response.headers)
        self.assertNotIn('Vary', response.headers)

    def test_options_without_origin_still_goes_through_cors(self):
        # oslo's CORS answers any preflight 200, even one the application refuses.
        app = middleware.cors_factory({})(stub(status='404 Not Found'))
        self.assertEqual(200, get(app, method='OPTIONS').status_int)


class HTTPProxyToWSGITest(base.TestCase):

    def test_proxy_headers_are_ignored_by_default(self):
        app = stub()
        get(middleware.HTTPProxyToWSGI(app), headers={'X-Forwarded-Proto': 'https'})
        self.assertEqual('http', app.environ['wsgi.url_scheme'])

    def test_proxy_headers_are_parsed_when_enabled(self):
        app = stub()
        proxy = middleware.HTTPProxyToWSGI(app)
        self.flags(group='oslo_middleware', enable_proxy_headers_parsing=True)
        get(proxy, headers={'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'api.example'})
        self.assertEqual('https', app.environ['wsgi.url_scheme'])
        self.assertEqual('api.example', app.environ['HTTP_HOST'])


class RequestBodySizeLimiterTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.bodies = []

        def app(environ, start_response):
            self.bodies.append(webob.Request(environ).body)
            start_response('200 OK', [])
            return []
        self.limiter = middleware.RequestBodySizeLimiter(app)
        self.flags(group='oslo_middleware', max_request_body_size=10)

    def test_body_within_the_limit(self):
        response = get(self.limiter, method='POST', body=b'0123456789')
        self.assertEqual(200, response.status_int)
        self.assertEqual([b'0123456789'], self.bodies)

    def test_content_length_over_the_limit(self):
        response = get(self.limiter, method='POST', body=b'0123456789A')
        self.assertEqual(413, response.status_int)
        self.assertEqual([], self.bodies)

    def test_body_of_unknown_length_is_read_through_the_limit(self):
        req = webob.Request.blank('/v3/', method='POST', body=b'0123456789A')
        del req.environ['CONTENT_LENGTH']
        req.environ['HTTP_TRANSFER_ENCODING'] = 'chunked'
        req.environ['wsgi.input_terminated'] = True
        self.assertEqual(413, req.get_response(self.limiter).status_int)
        self.assertEqual([], self.bodies)

    def test_request_without_body(self):
        self.assertEqual(200, get(self.limiter).status_int)
        self.assertEqual([b''], self.bodies)


class MicroversionTest(base.TestCase):

    def call(self, header=None, **stub_kwargs):
        app = stub(**stub_kwargs)
        headers = {microversion.HEADER: header} if header is not None else {}
        return app, get(middleware.Microversion(app), headers=headers)

    def test_version_is_echoed_with_vary(self):
        app, response = self.call('volume 3.44')
        self.assertEqual(microversion.parse('3.44'), app.environ[microversion.ENVIRON_KEY])
        self.assertEqual('volume 3.44', response.headers[microversion.HEADER])
        self.assertEqual(microversion.HEADER, response.headers['Vary'])

    def test_no_header_is_the_minimum_and_latest_the_maximum(self):
        self.assertEqual('volume 3.0', self.call()[1].headers[microversion.HEADER])
        self.assertEqual('volume 3.71', self.call('compute 2.90, volume latest')[1]
                         .headers[microversion.HEADER])
        self.assertEqual('volume 3.0', self.call('compute 2.90')[1]
                         .headers[microversion.HEADER])

    def test_existing_vary_is_extended_once(self):
        _app, response = self.call('volume 3.27', headers=[('Vary', 'Accept')])
        self.assertEqual('Accept, OpenStack-API-Version', response.headers['Vary'])
        _app, response = self.call('volume 3.27', headers=[
            ('Vary', 'openstack-api-version'), (microversion.HEADER, 'volume 3.1')])
        self.assertEqual(['openstack-api-version'], response.headers.getall('Vary'))
        self.assertEqual(['volume 3.27'], response.headers.getall(microversion.HEADER))

    def test_malformed_and_unsupported_versions(self):
        for header, status in (('volume 3.x', 400), ('volume 3.05', 400),
                               ('volume 3.72', 406), ('volume 2.0', 406)):
            app, response = self.call(header)
            self.assertEqual(status, response.status_int, header)
            self.assertIsNone(app.environ)
            self.assertEqual(microversion.HEADER, response.headers['Vary'])
            self.assertNotIn(microversion.HEADER, response.headers)


class FaultWrapperTest(base.TestCase):

    def test_success_passes_unchanged(self):
        response = get(middleware.FaultWrapper(stub(body=b'{"a": 1}')))
        self.assertEqual(200, response.status_int)
        self.assertEqual(b'{"a": 1}', response.body)

    def test_text_error_becomes_a_fault_keeping_retry_after(self):
        app = stub(status='413 Request Entity Too Large',
                   headers=[('Content-Type', 'text/plain'), ('Retry-After', '5')],
                   body=b'too large')
        response = get(middleware.FaultWrapper(app))
        self.assertEqual(413, response.status_int)
        self.assertEqual('Request Entity Too Large',
                         response.json['overLimit']['message'])
        self.assertEqual('5', response.headers['Retry-After'])

    def test_exception_becomes_a_500_fault(self):
        def app(environ, start_response):
            raise RuntimeError('boom')
        response = get(middleware.FaultWrapper(app))
        self.assertEqual(500, response.status_int)
        self.assertNotIn('boom', response.text)

    def test_application_starting_its_response_lazily(self):
        def app(environ, start_response):
            start_response('404 Not Found', [('Content-Type', 'text/html')])
            yield b'<html/>'
        response = get(middleware.FaultWrapper(app))
        self.assertEqual(404, response.status_int)
        self.assertIn('itemNotFound', response.json)
