// Validates Kubernetes objects offline against the schemas of the
// Kubernetes API (kubernetes-models) and of prometheus-operator's CRDs
// (@kubernetes-models/prometheus-operator): the OpenAPI schemas the API
// server itself checks, compiled to validators by the kubernetes-models
// project. Field types, required fields, enums and formats are checked;
// unknown fields are not (as with kubeconform without -strict).
//
// Usage: node validate.mjs < objects.json   (a JSON array of objects)
// Prints one line per object; exits 1 if any is invalid or of an unknown kind.

import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(0, "utf8"));

function modulePath(apiVersion, kind) {
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  }
  // Core group: "v1"; named groups: "apps/v1", "policy/v1", ...
  return `kubernetes-models/${apiVersion}/${kind}`;
}

let failed = 0;
for (const object of objects) {
  const { apiVersion, kind } = object;
  const name = `${kind} ${object.metadata?.name ?? "(no name)"} (${apiVersion})`;
  let Model;
  try {
    Model = (await import(modulePath(apiVersion, kind)))[kind];
  } catch {
    Model = undefined;
  }
  if (!Model) {
    console.log(`FAIL ${name}: no schema for this apiVersion and kind`);
    failed++;
    continue;
  }
  try {
    new Model(object).validate();
    console.log(`ok   ${name}`);
  } catch (error) {
    console.log(`FAIL ${name}: ${error.message}`);
    failed++;
  }
}
if (objects.length === 0) {
  console.log("FAIL no objects to validate");
  failed++;
}
process.exit(failed ? 1 : 0);
