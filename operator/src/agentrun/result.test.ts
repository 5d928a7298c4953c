import { describe, expect, it } from 'vitest';
import { AgentRunStatusSchema } from '../api/index.ts';
import { parseTerminationMessage, truncateResult } from './result.ts';

describe('parseTerminationMessage', () => {
  const cases: Array<[string, string, ReturnType<typeof parseTerminationMessage>]> = [
    ['plain text', 'all pods are healthy', { result: 'all pods are healthy' }],
    ['empty', '', { result: '' }],
    ['plain text that looks like JSON', '{not json}', { result: '{not json}' }],
    ['JSON without the marker stays text', '{"result":"x"}', { result: '{"result":"x"}' }],
    ['another version stays text', '{"skillpod":"v2","result":"x"}', { result: '{"skillpod":"v2","result":"x"}' }],
    ['a non-string result stays text', '{"skillpod":"v1","result":42}', { result: '{"skillpod":"v1","result":42}' }],
    ['a JSON array stays text', '[{"skillpod":"v1","result":"x"}]', { result: '[{"skillpod":"v1","result":"x"}]' }],
    ['envelope without usage', '{"skillpod":"v1","result":"done"}', { result: 'done' }],
    [
      'envelope with usage',
      '{"skillpod":"v1","result":"3 pods","usage":{"inputTokens":1200,"outputTokens":85,"model":"claude-x"}}',
      { result: '3 pods', usage: { inputTokens: 1200, outputTokens: 85, model: 'claude-x' } },
    ],
    ['surrounding whitespace', '\n {"skillpod":"v1","result":"ok"} \n', { result: 'ok' }],
    [
      'bad usage fields are dropped, good ones kept',
      '{"skillpod":"v1","result":"r","usage":{"inputTokens":-1,"outputTokens":1.5,"model":"m","costUsd":3}}',
      { result: 'r', usage: { model: 'm' } },
    ],
    ['usage with nothing usable is absent', '{"skillpod":"v1","result":"r","usage":{"inputTokens":"12"}}', { result: 'r' }],
    ['usage that is not an object is absent', '{"skillpod":"v1","result":"r","usage":[1,2]}', { result: 'r' }],
    ['unknown envelope fields are ignored', '{"skillpod":"v1","result":"r","steps":4}', { result: 'r' }],
    ['a too long model name is dropped', `{"skillpod":"v1","result":"r","usage":{"model":"${'m'.repeat(257)}","outputTokens":1}}`, { result: 'r', usage: { outputTokens: 1 } }],
  ];
  it.each(cases)('%s', (_name, message, want) => {
    expect(parseTerminationMessage(message)).toEqual(want);
  });

  it('gives what status accepts (after truncateResult)', () => {
    const report = parseTerminationMessage(JSON.stringify({ skillpod: 'v1', result: 'x'.repeat(5000), usage: { inputTokens: 1, outputTokens: 2 } }));
    const { result, truncated } = truncateResult(report.result);
    expect(truncated).toBe(true);
    expect(AgentRunStatusSchema.safeParse({ result, resultTruncated: truncated, usage: report.usage }).success).toBe(true);
  });
});
