import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { CertificateAuthority } from '../../pki/certificate-authority.ts';
import { EC_P256 } from '../../pki/key-spec.ts';
import { chainFrom } from './handshake-measures.ts';

const certificates = (pem: string) =>
  (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (one) => new X509Certificate(one),
  );

t.test('a leaf alone is completed from the trust bundle up to the root, fillers left out', async (t) => {
  const ca = await CertificateAuthority.create({ keySpec: EC_P256, trustedCas: 5 });
  const leaf = certificates((await ca.issue('master1', EC_P256)).certificatePem);
  const chain = chainFrom(leaf, certificates(ca.trustBundlePem));
  t.same(
    chain.map((c) => c.subject),
    ['CN=master1', 'CN=handshake-hunter CA'],
  );
});

t.test('a chain through intermediates ends at the root; without its issuer it stops', async (t) => {
  const ca = await CertificateAuthority.create({ keySpec: EC_P256, intermediates: 2 });
  const [leaf, ...intermediates] = certificates((await ca.issue('master1', EC_P256)).certificatePem);
  const bundle = [...intermediates, ...certificates(ca.trustBundlePem)];
  t.equal(chainFrom([leaf as X509Certificate], bundle).length, 4, 'leaf, two intermediates, root');
  t.equal(chainFrom([leaf as X509Certificate], []).length, 1, 'nothing to complete it with');
});
