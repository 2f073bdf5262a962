// Stock Apollo Client against a running server: runs the steps of a JSON plan read from stdin
// and prints one JSON report on stdout (tests/graph/schema/test_persisted_clients.py).
//
// Plan: {"url", "operationsDir", "manifest", "steps": [{"operation" | "document", "variables",
// "ids": "sha256" | "runtime" | "manifest", "accept": "default" | "json", "signedIn"}]}. Each
// operation is read from its file in graph/operations/ as a frontend imports it, its fragments
// supplied by the cache's fragment registry (as @apollo/generate-persisted-query-manifest
// resolves them). `ids` picks how the persisted-queries link names documents: "sha256", Node's
// crypto SHA-256 of the printed document (automatic persisted queries: fragments in spread
// order); "runtime", the same with the definitions sorted as the manifest sorts them; and
// "manifest", the manifest's ids by operation name (both @apollo/persisted-query-lists).
// `signedIn` sends the token of the last `logIn` that succeeded. Every HTTP exchange is recorded.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  ServerError,
  gql,
} from "@apollo/client";
import { createFragmentRegistry } from "@apollo/client/cache";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import {
  generatePersistedQueryIdsAtRuntime,
  generatePersistedQueryIdsFromManifest,
} from "@apollo/persisted-query-lists";

const plan = JSON.parse(readFileSync(0, "utf8"));
const read = (name) => readFileSync(join(plan.operationsDir, name), "utf8");
const fragments = gql(read("fragments.graphql"));
const manifest = plan.manifest ? JSON.parse(readFileSync(plan.manifest, "utf8")) : null;

function recordingFetch(exchanges) {
  return async (uri, options) => {
    const response = await fetch(uri, options);
    const url = new URL(uri);
    const body = options.body ? JSON.parse(options.body) : null;
    exchanges.push({
      method: options.method,
      sent: Object.keys(body ?? Object.fromEntries(url.searchParams)).sort(),
      accept: options.headers.accept,
      status: response.status,
      contentType: response.headers.get("content-type"),
    });
    return response;
  };
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const linkOptions = {
  sha256: () => ({ sha256 }),
  runtime: () => generatePersistedQueryIdsAtRuntime({ sha256 }),
  manifest: () => generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest }),
};
let token = null;

function client(step, exchanges) {
  const persisted = new PersistedQueryLink(linkOptions[step.ids ?? "sha256"]());
  const headers = {};
  // Apollo Client 3 sent `*/*` (answered as application/json); 4 prefers graphql-response+json.
  if (step.accept === "json") headers.accept = "application/json";
  if (step.signedIn) headers.authorization = `Bearer ${token}`;
  const http = new HttpLink({ uri: plan.url, fetch: recordingFetch(exchanges), headers });
  return new ApolloClient({
    cache: new InMemoryCache({ fragments: createFragmentRegistry(fragments) }),
    link: ApolloLink.from([persisted, http]),
  });
}

function describe(error) {
  if (CombinedGraphQLErrors.is(error)) {
    return {
      kind: "graphql",
      codes: error.errors.map((e) => e.extensions?.code),
      messages: error.errors.map((e) => e.message),
    };
  }
  return {
    kind: ServerError.is(error) ? "network (ServerError)" : `network (${error?.name})`,
    message: String(error?.message ?? error),
    statusCode: error?.statusCode,
  };
}

const results = [];
for (const step of plan.steps) {
  const exchanges = [];
  const document = gql(step.document ?? read(`${step.operation}.graphql`));
  const apollo = client(step, exchanges);
  const isMutation = document.definitions.some(
    (d) => d.kind === "OperationDefinition" && d.operation === "mutation",
  );
  const options = { variables: step.variables ?? {}, fetchPolicy: "no-cache" };
  try {
    const result = isMutation
      ? await apollo.mutate({ mutation: document, ...options })
      : await apollo.query({ query: document, ...options });
    token = result.data?.logIn?.token ?? token;
    results.push({ ok: true, data: result.data, exchanges });
  } catch (error) {
    results.push({ ok: false, error: describe(error), exchanges });
  }
}
const version = new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.empty() }).version;
process.stdout.write(JSON.stringify({ version, results }));
