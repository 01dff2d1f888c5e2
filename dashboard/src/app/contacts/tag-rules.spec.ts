import { tagNameProblem } from './tag-rules';

describe('tag catalogue rules', () => {
  const catalogue = [{ name: 'VIP' }, { name: 'lead' }];

  it('refuses a blank name and a name of the catalogue in any case', () => {
    expect(tagNameProblem('   ', catalogue)).toBe('empty');
    expect(tagNameProblem(' vip ', catalogue)).toBe('taken');
    expect(tagNameProblem('Lead', catalogue)).toBe('taken');
    expect(tagNameProblem('partner', catalogue)).toBeNull();
    expect(tagNameProblem('partner', [])).toBeNull();
  });
});
