// The REST API's OpenAPI document, served at a stable URL, validates with a real validator
// (@apidevtools/swagger-parser, against the OpenAPI 3.1 schema) and describes every route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { startLakeline } from './lakeline.mjs';

test('the OpenAPI document validates and lists every route', async () => {
  const server = await startLakeline();
  try {
    const response = await fetch(server.url + '/api/v1/openapi.json');
    assert.equal(response.status, 200, 'served without signing in');
    const doc = await response.json();
    assert.match(doc.openapi, /^3\.1\./);
    // validate() dereferences in place: give it a copy.
    await SwaggerParser.validate(structuredClone(doc));

    const routes = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    assert.deepEqual(routes, [
      'GET /api/v1/jobs',
      'GET /api/v1/me',
      'GET /api/v1/openapi.json',
      'GET /api/v1/runs',
      'GET /api/v1/runs/{id}',
      'GET /api/v1/runs/{id}/lineage',
      'GET /api/v1/runs/{id}/logs',
      'GET /api/v1/runs/{id}/logs/{stage}',
      'POST /api/v1/runs',
      'POST /api/v1/runs/{id}/deploy-anyway',
      'POST /api/v1/runs/{id}/retry',
      'POST /api/v1/runs/{id}/stop',
    ]);
    // Every route says how it fails, with the error shape that has a stable code.
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (path.endsWith('openapi.json')) continue;
        const refused = op.responses['401'] ?? op.responses['400'];
        assert.ok(refused?.content?.['application/json']?.schema?.$ref?.endsWith('/ApiError'), `${method} ${path} documents its errors`);
      }
    }
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['session', 'token']);
    // A few schemas name their values: a client can switch on them.
    assert.deepEqual(doc.components.schemas.PipelineStatus.enum, ['running', 'succeeded', 'failed', 'stopped', 'timedout', 'incomplete']);
    assert.ok(doc.components.schemas.JobRunState.enum.includes('ENGINE_SUCCEEDED'));
  } finally {
    await server.stop();
  }
});
