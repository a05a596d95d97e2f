import { expect } from 'chai';
import { invalidInput, notFound } from '../../module/domain/errors.js';

// What an operator reads when a ModuleError reaches a log line or a stack trace.
describe('module errors', () => {
  it('read as ModuleError with their message and carry their code and details', () => {
    const e = invalidInput('the rate must be a decimal number like "0.50"', { value: '0,50' });
    expect(String(e)).to.equal('ModuleError: the rate must be a decimal number like "0.50"');
    expect(e.stack?.split('\n')[0]).to.equal('ModuleError: the rate must be a decimal number like "0.50"');
    expect([e.code, e.details]).to.deep.equal(['INVALID_INPUT', { value: '0,50' }]);
    expect([notFound('no master 42').code, notFound('no master 42').details]).to.deep.equal([
      'NOT_FOUND',
      undefined,
    ]);
  });
});
