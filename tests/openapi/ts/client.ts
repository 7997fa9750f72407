// A front end's calls, type-checked against the types generated from Cordon's merged OpenAPI.
// The test generates ./cordon.d.ts next to this file and runs `tsc --noEmit`: a renamed operation id,
// path or schema, or a problem `code` that is no longer in an operation's enum, fails the check.
import createClient from "openapi-fetch";
import type { components, operations, paths } from "./cordon";

type Op<K extends keyof operations> = operations[K];
type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;
type ProblemOf<R> = R extends { content: { "application/problem+json": infer P } } ? P : never;

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

// 工作人员登录 (OAuth2 password form)
type LoginForm = Op<"auth_staff_token">["requestBody"]["content"]["application/x-www-form-urlencoded"];
type Token = Json<Op<"auth_staff_token">["responses"][200]>;
const wrongPassword: ProblemOf<Op<"auth_staff_token">["responses"][401]>["code"] = "invalid_credentials";

export async function login(username: string, password: string): Promise<string> {
  const form: LoginForm = { username, password };
  const { data, error } = await client.POST("/api/v1/auth/token", {
    body: form,
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
  });
  if (error) throw new Error(`${error.code}: ${error.detail}`);
  const token: Token = data;
  const role: "admin" | "official" | "grid_worker" | "lab" | "resident" | "partner" = token.role;
  return `${role} ${token.access_token}`;
}

// 居民验证码登录
export async function residentLogin(phone: string, code: string): Promise<Token> {
  await client.POST("/api/v1/auth/sms-code", { body: { phone } });
  const { data, error } = await client.POST("/api/v1/auth/resident-token", { body: { phone, code } });
  if (error) {
    const known: "invalid_code" | "too_many_attempts" | "rate_limited" | "validation_error" | "invalid_json" = error.code;
    throw new Error(known);
  }
  return data;
}

// 查询人员健康码
type HealthCode = Json<Op<"persons_read_health_code">["responses"][200]>;
type NotFound = ProblemOf<Op<"persons_read_health_code">["responses"][404]>;
const notFound: NotFound["code"] = "person_not_found";
// @ts-expect-error: a code the route cannot give is not in its enum
const neverGiven: NotFound["code"] = "gathering_not_found";

export async function healthCode(token: string, personId: string): Promise<HealthCode["color"] | NotFound["code"]> {
  const { data, error } = await client.GET("/api/v1/persons/{person_id}/health-code", {
    params: { path: { person_id: personId } },
    headers: { Authorization: `Bearer ${token}` },
  });
  if (error) {
    const field: string | undefined = error.errors[0]?.field;
    return error.code === "person_not_found" ? error.code : Promise.reject(new Error(`${error.code} ${field}`));
  }
  const color: "green" | "yellow" | "red" = data.color;
  const reasons: string[] = data.reasons.map((r) => r.rule);
  return reasons.length >= 0 ? color : color;
}

export async function myHealthCode(token: string): Promise<"green" | "yellow" | "red"> {
  const { data, error } = await client.GET("/api/v1/me/health-code", { headers: { Authorization: `Bearer ${token}` } });
  if (error) throw new Error(error.code);
  return data.color;
}

// 批量推送行程记录 (X-API-Key; a JSON array here, NDJSON as text)
type TravelLine = components["schemas"]["TravelRecordLine"];
type TravelArray = Op<"travel_push_travel_records">["requestBody"]["content"]["application/json"];
type TravelNdjson = Op<"travel_push_travel_records">["requestBody"]["content"]["application/x-ndjson"];
type BatchResult = Json<Op<"travel_push_travel_records">["responses"][200]>;

export async function pushTravel(apiKey: string, lines: TravelLine[]): Promise<BatchResult> {
  const body: TravelArray = lines;
  const { data, error } = await client.POST("/api/v1/travel-records/batch", { body, headers: { "X-API-Key": apiKey } });
  if (error) throw new Error(error.code);
  const firstRejected: { line: number; code: string; message: string } | undefined = data.rejected[0];
  return firstRejected ? { ...data } : data;
}

export const ndjson: TravelNdjson = [
  { record_id: "p-1", phone: "13800138000", region_code: "420106", first_seen: "2022-01-01", last_seen: "2022-01-03" },
].map((line: TravelLine) => JSON.stringify(line) + "\n").join("");

// 登记人员 and 报备聚集性活动: the write models carry the enums the read models return
const tag: components["schemas"]["PersonCreate"]["tags"] = ["returnee"];
const kind: components["schemas"]["GatheringRead"]["kind"] = "wedding";
const level: components["schemas"]["RiskAreaRead"]["level"] = "high";
const measure: components["schemas"]["MeasureRead"]["kind"] = "home_quarantine";
// @ts-expect-error: not a colour of the health code
const badColor: components["schemas"]["HealthCodeRead"]["color"] = "blue";

export const used = [wrongPassword, notFound, neverGiven, tag, kind, level, measure, badColor];
