import { Readable } from 'node:stream';
import t from 'tap';
import { Labels } from '../../../engine/labels.ts';
import { recipeHash } from '../../../images/recipe-image.ts';
import { sourceEntry } from './catalogue.ts';
import { builderRecipe, compilerCacheVolume, sourceRecipe } from './source-image.ts';

const source = (id: string) => ({ version: '2.14.4', id, archive: () => Readable.from([]) });

t.test(
  'a source build is one builder per suite and one image per version, labelled with its commit',
  async (t) => {
    const entry = sourceEntry('2.14.4');
    const builder = builderRecipe(entry.suite);
    t.equal(builder.tag, 'handshake-hunter/icinga2-builder:trixie');
    t.equal(builder.suite, 'trixie');
    const recipe = sourceRecipe(entry, source('git 1111'), 'sha256:b1');
    t.equal(recipe.tag, 'handshake-hunter/icinga2:2.14.4');
    t.same(
      recipe.folders,
      ['icinga2-source', 'icinga2', 'shims'],
      'the same entry point and shims as the package images',
    );
    t.equal(recipe.labels['io.handshake-hunter.icinga-version'], '2.14.4');
    t.equal(recipe.labels[Labels.BUILT_FROM], 'source git 1111');
    t.equal(compilerCacheVolume('trixie'), 'handshake-hunter-ccache-trixie');
  },
);

t.test('another commit or another builder is another image; the same inputs hash the same', async (t) => {
  const entry = sourceEntry('2.14.4');
  const hash = (id: string, builder: string) =>
    recipeHash(sourceRecipe(entry, source(id), builder), 'sha256:base');
  const first = await hash('git 1111', 'sha256:b1');
  t.equal(await hash('git 1111', 'sha256:b1'), first);
  t.not(await hash('git 2222', 'sha256:b1'), first, 'a moved tag builds again');
  t.not(await hash('git 1111', 'sha256:b2'), first, 'a changed compiler builds again');
});
