"""The kit's shipped JVM flags, read from where they ship: src/main/docker/Dockerfile.jvm (its ENV lines, which the
image's run-java.sh turns into `java` flags, and its AOT-cache training RUN line) and deployment/kit.yaml (the memory
and CPU limits, which the JVM reads from the cgroup inside a container: -XX:MaxRAM and -XX:ActiveProcessorCount stand
in for them here).

run-java.sh (jboss-container-images, modules/jvm .../java-default-options) builds
  -XX:MaxRAMPercentage=$JAVA_MAX_MEM_RATIO  ${GC_CONTAINER_OPTIONS:--XX:+UseParallelGC}
  -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20 -XX:GCTimeRatio=4 -XX:AdaptiveSizePolicyWeight=90
  -XX:+ExitOnOutOfMemoryError  $JAVA_OPTS_APPEND
(the GC_* ratios can be overridden by ENV; JAVA_INITIAL_MEM_RATIO adds -XX:InitialRAMPercentage). Usage:
  python3 bench/lib/shipped.py      prints what the bench would run
"""
import json
import os
import re
import shlex
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKERFILE = os.path.join(REPO, "src", "main", "docker", "Dockerfile.jvm")
MANIFEST = os.path.join(REPO, "deployment", "kit.yaml")
IMAGE_APP_DIR = "/deployments"


def dockerfile_env(text):
    """ENV KEY=VALUE ... and ENV KEY VALUE lines (with backslash continuations) -> dict."""
    env = {}
    text = re.sub(r"\\\n", " ", text)
    for line in text.splitlines():
        m = re.match(r"\s*ENV\s+(.*)", line)
        if not m:
            continue
        words = shlex.split(m.group(1))
        if words and "=" not in words[0] and len(words) >= 2:
            env[words[0]] = " ".join(words[1:])
            continue
        for w in words:
            if "=" in w:
                k, v = w.split("=", 1)
                env[k] = v
    return env


def dockerfile_aot_training(text):
    """The argv of the RUN line that trains the AOT cache (`java -XX:AOTCacheOutput=...`), or None."""
    text = re.sub(r"\\\n", " ", text)
    for line in text.splitlines():
        m = re.match(r"\s*RUN\s+(java\s.*-XX:AOTCacheOutput=.*)", line)
        if m:
            return shlex.split(m.group(1))
    return None


def manifest_memory_limit(text):
    """resources.limits.memory of the kit container in deployment/kit.yaml, as a -XX:MaxRAM value (e.g. 384m)."""
    m = re.search(r"^\s*limits:\s*\n(?:\s+\w+:.*\n)*?\s+memory:\s*\"?(\d+)(Mi|Gi|M|G)?\"?", text, re.M)
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2) or ""
    mib = {"Mi": n, "M": n * 1000 * 1000 // (1024 * 1024), "Gi": n * 1024, "G": n * 1000 ** 3 // (1024 * 1024), "": n // (1024 * 1024)}[unit]
    return f"{mib}m"


def manifest_cpu_limit(text):
    """resources.limits.cpu of the kit container, rounded up to whole processors (the JVM's view of a CFS quota)."""
    m = re.search(r"^\s*limits:\s*\n(?:\s+\w+:.*\n)*?\s+cpu:\s*\"?(\d+)(m)?\"?", text, re.M)
    if not m:
        return None
    n = int(m.group(1))
    return max(1, -(-n // 1000)) if m.group(2) else n


def shipped(aot_cache=None):
    """dict(flags=[...], aot_in_image=bool, aot_training=[argv] or None, memory_limit=str, cpu_limit=int, env={...},
    sources=[...]).
    aot_cache: path of an AOT cache trained for the app directory the bench runs; None drops -XX:AOTCache."""
    with open(DOCKERFILE) as f:
        dtext = f.read()
    env = dockerfile_env(dtext)
    limit = cpus = None
    if os.path.exists(MANIFEST):
        with open(MANIFEST) as f:
            mtext = f.read()
        limit, cpus = manifest_memory_limit(mtext), manifest_cpu_limit(mtext)
    flags = []
    if limit:
        flags.append(f"-XX:MaxRAM={limit}")
    if cpus:
        flags.append(f"-XX:ActiveProcessorCount={cpus}")
    ratio = env.get("JAVA_MAX_MEM_RATIO")
    if ratio != "0":
        flags.append(f"-XX:MaxRAMPercentage={ratio or '80.0'}")
    if env.get("JAVA_INITIAL_MEM_RATIO"):
        flags.append(f"-XX:InitialRAMPercentage={env['JAVA_INITIAL_MEM_RATIO']}")
    flags += shlex.split(env.get("GC_CONTAINER_OPTIONS", "-XX:+UseParallelGC"))
    flags += [f"-XX:MinHeapFreeRatio={env.get('GC_MIN_HEAP_FREE_RATIO', '10')}",
              f"-XX:MaxHeapFreeRatio={env.get('GC_MAX_HEAP_FREE_RATIO', '20')}",
              f"-XX:GCTimeRatio={env.get('GC_TIME_RATIO', '4')}",
              f"-XX:AdaptiveSizePolicyWeight={env.get('GC_ADAPTIVE_SIZE_POLICY_WEIGHT', '90')}"]
    if env.get("GC_MAX_METASPACE_SIZE"):
        flags.append(f"-XX:MaxMetaspaceSize={env['GC_MAX_METASPACE_SIZE']}m")
    if env.get("GC_METASPACE_SIZE"):
        flags.append(f"-XX:MetaspaceSize={env['GC_METASPACE_SIZE']}m")
    flags.append("-XX:+ExitOnOutOfMemoryError")
    aot_in_image = False
    for w in shlex.split(env.get("JAVA_OPTS", "")) + shlex.split(env.get("JAVA_OPTS_APPEND", "")):
        if w.startswith("-Dquarkus.http.host="):
            continue  # the image listens on all interfaces; the bench keeps everything on loopback
        if w.startswith("-XX:AOTCache="):
            aot_in_image = True
            if aot_cache:
                flags.append(f"-XX:AOTCache={aot_cache}")
            continue
        if w not in flags:
            flags.append(w)
    return dict(flags=flags, aot_in_image=aot_in_image, aot_training=dockerfile_aot_training(dtext), memory_limit=limit,
                cpu_limit=cpus,
                env={k: env[k] for k in ("JAVA_MAX_MEM_RATIO", "GC_CONTAINER_OPTIONS", "JAVA_OPTS_APPEND") if k in env},
                sources=[os.path.relpath(DOCKERFILE, REPO), os.path.relpath(MANIFEST, REPO)])


def training_argv(java, training, app_dir, aot_cache):
    """The Dockerfile's training command with the bench's java, app directory and cache path."""
    out = [java]
    for w in training[1:]:
        if w.startswith("-XX:AOTCacheOutput="):
            w = f"-XX:AOTCacheOutput={aot_cache}"
        elif w.startswith(IMAGE_APP_DIR + "/"):
            w = os.path.join(app_dir, w[len(IMAGE_APP_DIR) + 1:])
        out.append(w)
    return out


if __name__ == "__main__":
    json.dump(shipped("<app dir>/app.aot"), sys.stdout, indent=1)
    print()
