import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../paths.ts';
import { huntInProcess } from '../test-kits/hunt-in-process.ts';

// The Indexed Job in the repository, checked offline: each document against Kubernetes' own
// schema (kubernetes-models), and its hunt command against hunt's parser.
const manifest = await readFile(join(projectRoot, 'deploy/kubernetes/matrix-job.yaml'), 'utf8');
const documents = parseAllDocuments(manifest).map((document) => document.toJS() as Record<string, unknown>);
const models = { Job, PersistentVolumeClaim } as const;

function validate(document: Record<string, unknown>): string | undefined {
  const Model = models[document.kind as keyof typeof models];
  if (!Model) return `no schema for kind ${String(document.kind)}`;
  try {
    new Model(document as never).validate();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

t.test("every document is valid by Kubernetes' schema", async (t) => {
  t.same(
    documents.map((document) => document.kind),
    ['PersistentVolumeClaim', 'Job'],
  );
  t.same(documents.map(validate), [undefined, undefined]);
  // The validator is not a rubber stamp: a mode Kubernetes does not have is refused.
  const job = structuredClone(documents[1]) as { spec: { completionMode: string } };
  job.spec.completionMode = 'Sometimes';
  t.match(validate(job as never), /completionMode must be equal to one of the allowed values/);
});

t.test(
  'each pod runs its cell of the plan: indexed, hunt run --cell, results on the shared volume',
  async (t) => {
    const job = documents[1] as {
      spec: {
        completionMode: string;
        template: {
          spec: {
            containers: Array<{ command: string[]; env: Array<{ name: string; value: string }> }>;
            initContainers: Array<{ securityContext: { privileged: boolean }; restartPolicy: string }>;
          };
        };
      };
    };
    t.equal(job.spec.completionMode, 'Indexed', 'each pod is told its index (JOB_COMPLETION_INDEX)');
    const [hunt] = job.spec.template.spec.containers;
    const command = hunt?.command ?? [];
    t.same(command.slice(0, 3), ['npx', '--no-install', 'hunt']);
    const argv = command.slice(3);
    t.same(argv.slice(0, 2), ['run', '--cell'], 'the cell from the plan, its index from the Job');
    const { code, stdout } = await huntInProcess([...argv, '--help', '--json']);
    t.equal(code, 0, `hunt accepts ${argv.join(' ')}: ${stdout.slice(0, 300)}`);
    t.match(hunt?.env, [{ name: 'DOCKER_HOST', value: 'tcp://127.0.0.1:2375' }]);
    const [engine] = job.spec.template.spec.initContainers;
    t.match(engine, { restartPolicy: 'Always', securityContext: { privileged: true } }, 'a sidecar engine');
  },
);
