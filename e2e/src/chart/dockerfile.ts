// Dockerfiles read into stages and instructions (dockerfile-ast does the parsing), for the checks on
// the images' invariants and for assembling an image's file system without a container engine.
import { DockerfileParser, type From, type Instruction, type JSONInstruction } from 'dockerfile-ast';

export interface DockerInstruction {
  keyword: string;
  /** --name=value flags (COPY --from, RUN --mount). */
  flags: Record<string, string | null>;
  /** Shell-form arguments, surrounding quotes removed. */
  args: string[];
  /** Exec-form (JSON) arguments of CMD, ENTRYPOINT, RUN. */
  json?: string[];
  line: number;
}

export interface DockerStage {
  name?: string;
  image: string;
  tag?: string;
  digest?: string;
  instructions: DockerInstruction[];
}

function unquote(value: string): string {
  return /^".*"$|^'.*'$/.test(value) ? value.slice(1, -1) : value;
}

function flagsOf(instruction: Instruction): Record<string, string | null> {
  const withFlags = instruction as Instruction & {
    getFlags?: () => Array<{ getName(): string; getValue(): string | null }>;
  };
  return Object.fromEntries((withFlags.getFlags?.() ?? []).map((f) => [f.getName(), f.getValue()]));
}

export function parseDockerfile(text: string): DockerStage[] {
  const stages: DockerStage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const from = instruction as From;
      stages.push({
        name: from.getBuildStage() ?? undefined,
        image: from.getImageName() ?? '',
        tag: from.getImageTag() ?? undefined,
        digest: from.getImageDigest() ?? undefined,
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // ARGs before the first FROM
    const json = (instruction as Partial<JSONInstruction>).getJSONStrings?.().map((s) => s.getJSONValue());
    stage.instructions.push({
      keyword,
      flags: flagsOf(instruction),
      args: instruction.getArguments().map((a) => unquote(a.getValue())),
      json: json && json.length > 0 ? json : undefined,
      line: instruction.getRange().start.line + 1,
    });
  }
  return stages;
}

/** The value of the last instruction with this keyword in a stage. */
export function lastOf(stage: DockerStage, keyword: string): DockerInstruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}
