import { describe, expect, it } from 'vitest';
import { faultPoints, parseFaultSpec } from '../../src/config/fault-plan.js';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('FAULTS spec', () => {
  it('parses rules with probabilities, durations and counts', () => {
    expect(
      parseFaultSpec(
        'user.saveUser=transient:0.3; score.saveUserScore=delay:200ms:50%;saga.log.afterWrite=exit:1%:after=20:times=1',
      ),
    ).toEqual([
      {
        points: ['user.saveUser'],
        effect: { kind: 'transient' },
        probability: 0.3,
        after: 0,
        times: Infinity,
      },
      {
        points: ['score.saveUserScore'],
        effect: { kind: 'delay', ms: 200 },
        probability: 0.5,
        after: 0,
        times: Infinity,
      },
      { points: ['saga.log.afterWrite'], effect: { kind: 'exit' }, probability: 0.01, after: 20, times: 1 },
    ]);
  });

  it('expands "*" to every matching point and gives one rule per effect', () => {
    const rules = parseFaultSpec('*.afterCommit=delay:5ms,transient:0.1');
    expect(rules).toHaveLength(2);
    const [delay] = rules as Exclude<typeof rules, string>;
    expect(delay?.points).toEqual(faultPoints.filter((point) => point.endsWith('.afterCommit')));
    expect(parseFaultSpec('*=transient')).toMatchObject([{ points: faultPoints }]);
  });

  it('ignores empty rules', () => {
    expect(parseFaultSpec(' ; ')).toEqual([]);
  });

  it.each([
    ['no effect', 'user.saveUser', /no "point=effect"/],
    ['an unknown point', 'user.deleteEverything=transient', /names no fault point/],
    ['an unknown effect', 'user.saveUser=explode', /unknown effect "explode"/],
    ['a probability above 1', 'user.saveUser=transient:1.5', /neither a probability/],
    ['a delay without a duration', 'user.saveUser=delay', /expects a duration/],
    [
      'a delay without a unit',
      'user.saveUser=delay:200',
      /neither a probability \(0.3 or 30%\) nor a duration/,
    ],
    ['a bad count', 'user.saveUser=exit:after=-1', /expects a whole number/],
    ['an unknown option', 'user.saveUser=exit:every=2', /unknown option "every"/],
  ])('refuses %s', (_name, spec, message) => {
    expect(parseFaultSpec(spec)).toMatch(message);
  });
});

describe('FAULTS in the configuration', () => {
  it('is off by default', () => {
    expect(loadConfig({}).faults).toBeUndefined();
  });

  it('turns fault injection on with its seed, and says so', () => {
    const config = loadConfig({ FAULTS: 'user.saveUser=transient:0.3', FAULTS_SEED: '42' });
    expect(config.faults).toMatchObject({
      seed: 42,
      rules: [{ points: ['user.saveUser'], probability: 0.3 }],
    });
    expect(config.warnings.join('\n')).toMatch(
      /fault injection is on: FAULTS="user.saveUser=transient:0.3" FAULTS_SEED=42/,
    );
  });

  it('refuses a bad spec, naming the variable', () => {
    expect(() => loadConfig({ FAULTS: 'user.saveUser=sometimes' })).toThrow(
      /FAULTS unknown effect "sometimes"/,
    );
    expect(() => loadConfig({ FAULTS: 'user.saveUser=exit', FAULTS_SEED: 'abc' })).toThrow(
      /FAULTS_SEED expects a whole number/,
    );
  });

  it('refuses FAULTS when NODE_ENV=production', () => {
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: 'x'.repeat(40),
        ROLES: 'api',
        FAULTS: 'user.saveUser=transient',
      }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), FAULTS: 'user.saveUser=transient' }),
    ).toThrow(/FAULTS is refused when NODE_ENV=production/);
  });
});
