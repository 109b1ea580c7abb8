import { solutionVersion } from '../solutionXml';

describe('solution version', () => {
  it('is the package version with the build number as its fourth part', () => {
    expect(solutionVersion('1.2.3', '45')).toBe('1.2.3.45');
    expect(solutionVersion('0.1.0', '0')).toBe('0.1.0.0');
    expect(solutionVersion('2.0.0-rc.1', '7')).toBe('2.0.0.7');
  });

  it('refuses what Dataverse could not order as a version', () => {
    expect(() => solutionVersion('1.2', '0')).toThrow(/"1.2" is not major.minor.patch/);
    expect(() => solutionVersion('1.2.3', 'abc')).toThrow(/STC_BUILD_NUMBER "abc" is not a whole number/);
  });
});
