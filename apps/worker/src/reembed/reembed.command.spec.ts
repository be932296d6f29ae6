import { parseReembedArgs, UsageError } from './reembed.command';

describe('reembed command line', () => {
  it('reads a build request with its options', () => {
    expect(parseReembedArgs(['--model', 'text-embedding-3-large', '--version', '2', '--dimensions', '256', '--run'])).toEqual({
      status: false,
      cancel: false,
      run: true,
      wait: false,
      model: 'text-embedding-3-large',
      version: 2,
      dimensions: 256,
      timeoutSec: 3600,
    });
    expect(parseReembedArgs(['--model=m', '--wait', '--timeout', '30'])).toMatchObject({ model: 'm', wait: true, timeoutSec: 30 });
    expect(parseReembedArgs(['--status'])).toMatchObject({ status: true });
    expect(parseReembedArgs(['--cancel', '--model', 'm', '--version', '3'])).toMatchObject({ cancel: true, model: 'm', version: 3 });
  });

  it.each([
    [[], /--model is required/],
    [['--model'], /argument missing|requires a value|--model/],
    [['--model', 'm', '--version', '0'], /--version must be a positive integer/],
    [['--model', 'm', '--dimensions', '1.5'], /--dimensions must be a positive integer/],
    [['--model', 'm', '--timeout', 'soon'], /--timeout must be a positive integer/],
    [['--model', 'm', '--run', '--wait'], /exclude each other/],
    [['--cancel', '--model', 'm'], /--cancel takes --model and --version/],
    [['--status', '--model', 'm'], /--status takes no other option/],
    [['--model', 'm', '--bogus'], /bogus/],
    [['--model', 'm', 'extra'], /extra|positional/i],
  ])('refuses %j', (argv, message) => {
    expect(() => parseReembedArgs(argv as string[])).toThrow(UsageError);
    expect(() => parseReembedArgs(argv as string[])).toThrow(message as RegExp);
  });
});
