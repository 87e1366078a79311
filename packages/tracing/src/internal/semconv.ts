// The OpenTelemetry semantic-convention names this package writes, as plain strings (#22): importing
// @opentelemetry/semantic-conventions from ESM loaded its ESM build beside the CommonJS one the SDK requires,
// about 20 ms of a cold start for a few stable names. test/semconv.test.ts checks them against the package.

export const ATTR_CLIENT_ADDRESS = 'client.address';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_REQUEST_RESEND_COUNT = 'http.request.resend_count';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_HTTP_ROUTE = 'http.route';
export const ATTR_NETWORK_PROTOCOL_VERSION = 'network.protocol.version';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_SERVICE_NAME = 'service.name';
export const ATTR_SERVICE_VERSION = 'service.version';
// Still incubating in semantic-conventions 1.45 (its unstable entry point), so it is not checked against the package.
export const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id';
export const ATTR_URL_FULL = 'url.full';
export const ATTR_URL_PATH = 'url.path';
export const ATTR_URL_SCHEME = 'url.scheme';
export const ATTR_USER_AGENT_ORIGINAL = 'user_agent.original';
