// A CyberArk Conjur (OSS, API v5) for the tests, written from CyberArk's
// published REST API reference: API-key login and authenticate, authn-jwt,
// variables with versions, the batch secrets endpoint, resource listing with
// search, limit/offset and annotations, and role permissions. Access tokens
// are signed JSON (protected, payload, signature) that expire after 8
// minutes; clients send them base64-encoded as `Token token="..."`.
import { createPrivateKey, createPublicKey, createSign, createVerify, generateKeyPairSync, randomBytes, timingSafeEqual, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { json, readBody as body } from '../shared/http.js';
import { audiences, decodeJwt, keyFromJwk, signatureValid, timeProblem, type Claims } from '../shared/jwt.js';

export { body, json };

export interface Role {
  /** host/<id> or user/<id> (the role; a user logs in by its bare id) */
  login: string;
  apiKey: string;
  annotations: Record<string, string>;
}

interface Variable {
  id: string;
  versions: Buffer[];
  annotations: Record<string, string>;
  createdAt: string;
  /** Roles that may see it (read) and fetch its value (execute). */
  read: Set<string>;
  execute: Set<string>;
}

export interface JwtService {
  id: string;
  issuer: string;
  audience: string;
  /** The claim naming the host (with identityPath before it) when the URL names none. */
  tokenAppProperty?: string;
  identityPath?: string;
}

const ADMIN = 'user/admin';

/**
 * The role a login names, as Conjur reads logins: `host/<id>` is a host, any
 * other login is a user by its bare id (`admin`, `alice`). So `user/admin`
 * names a user whose id is "user/admin", whom no policy declares.
 */
export const roleOfLogin = (login: string) => (login.startsWith('host/') ? login : `user/${login}`);
/** The login of a role (its token's `sub`, and whoami's username): a user's bare id, or host/<id>. */
const loginOfRole = (role: string) => (role.startsWith('user/') ? role.slice('user/'.length) : role);
export const TOKEN_TTL_SECONDS = 8 * 60;


const error = (res: ServerResponse, status: number, code: string, message: string) => json(res, status, { error: { code, message } });
const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64');

export class TestConjur {
  readonly roles = new Map<string, Role>();
  private readonly variables = new Map<string, Variable>();
  private readonly services = new Map<string, JwtService>();
  private signingKey!: KeyObject;
  private verifyKey!: KeyObject;
  private kid!: string;
  tokenTtlSeconds = TOKEN_TTL_SECONDS;
  readonly counts = new Map<string, number>();

  constructor(
    readonly account: string,
    private readonly kubeJwks: () => Promise<JsonWebKey[]>,
  ) {
    this.rotateSigningKey();
    this.roles.set(ADMIN, { login: ADMIN, apiKey: randomBytes(24).toString('hex'), annotations: {} });
  }

  /** A new token signing key: every access token issued so far is refused (401) from now on. */
  rotateSigningKey(): void {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.signingKey = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    this.verifyKey = createPublicKey(this.signingKey);
    this.kid = randomBytes(16).toString('hex');
  }

  total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  adminApiKey(): string {
    return this.roles.get(ADMIN)!.apiKey;
  }

  // --- set up, through the admin API -----------------------------------------------------------

  addRole(login: string, annotations: Record<string, string> = {}): Role {
    const role = { login, apiKey: randomBytes(24).toString('hex'), annotations };
    this.roles.set(login, role);
    return role;
  }

  addVariable(id: string, annotations: Record<string, string> = {}): void {
    if (!this.variables.has(id)) this.variables.set(id, { id, versions: [], annotations, createdAt: new Date().toISOString(), read: new Set([ADMIN]), execute: new Set([ADMIN]) });
    else Object.assign(this.variables.get(id)!.annotations, annotations);
  }

  /** Adds a version; returns its number. */
  addValue(id: string, value: Buffer): number {
    this.addVariable(id);
    return this.variables.get(id)!.versions.push(value);
  }

  /** privilege read: the role sees the variable; execute: it may fetch the value too. */
  permit(role: string, id: string, privilege: 'read' | 'execute'): void {
    const variable = this.variables.get(id);
    if (!variable) throw new Error(`no variable ${id}`);
    variable.read.add(role);
    if (privilege === 'execute') variable.execute.add(role);
  }

  addJwtService(service: JwtService): void {
    this.services.set(service.id, service);
  }

  // --- the API ---------------------------------------------------------------------------------

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname.split('/').slice(1);
    const op = (name: string) => this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    const [first] = parts;
    if (first === 'authn' && parts[1] === this.account && parts[2] === 'login' && req.method === 'GET') return op('login'), this.login(req, res);
    if (first === 'authn' && parts[1] === this.account && parts[3] === 'authenticate' && req.method === 'POST') return op('authenticate'), this.authenticate(req, res, decodeURIComponent(parts[2]!));
    if (first === 'authn-jwt' && req.method === 'POST' && parts.at(-1) === 'authenticate') return op('authn-jwt'), this.authenticateJwt(req, res, parts.slice(1, -1));
    if (first === 'authn' || first === 'authn-jwt') return error(res, 404, 'not_found', 'no such authenticator or account');

    const role = this.tokenRole(req);
    if (!role) {
      op('refused-token');
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
      return;
    }
    if (first === 'whoami' && req.method === 'GET') return op('whoami'), json(res, 200, { account: this.account, username: loginOfRole(role) });
    if (first === 'secrets' && parts.length === 1 && req.method === 'GET') return op('batch'), this.batch(req, res, url, role);
    if (first === 'secrets' && parts[1] === this.account && parts[2] === 'variable') {
      const id = decodeURIComponent(parts.slice(3).join('/'));
      if (req.method === 'GET') return op('secret'), this.secret(res, url, role, id);
      if (req.method === 'POST') return op('set'), this.setSecret(req, res, role, id);
    }
    if (first === 'resources' && parts[1] === this.account && parts.length === 2 && req.method === 'GET') return op('resources'), this.resources(res, url, role);
    if (first === 'resources' && parts[1] === this.account && parts[2] === 'variable' && req.method === 'GET') return op('resource'), this.resource(res, role, decodeURIComponent(parts.slice(3).join('/')));
    return error(res, 404, 'not_found', `no route for ${req.method} ${url.pathname}`);
  }

  /** GET /authn/{account}/login with Basic auth: the login's API key. */
  private login(req: IncomingMessage, res: ServerResponse): void {
    const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const [login, secret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(/:(.*)/s) : [];
    const role = login ? this.roles.get(roleOfLogin(login)) : undefined;
    if (!role || !secret || !same(secret, role.apiKey)) return void res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(role.apiKey);
  }

  /** POST /authn/{account}/{login}/authenticate with the API key as the body. */
  private async authenticate(req: IncomingMessage, res: ServerResponse, login: string): Promise<void> {
    const apiKey = (await body(req)).toString('utf8').trim();
    const role = this.roles.get(roleOfLogin(login));
    if (!role || !same(apiKey, role.apiKey)) return void res.writeHead(401).end();
    this.sendToken(req, res, login);
  }

  /** POST /authn-jwt/{service}/{account}[/{host}]/authenticate with jwt=<token> (form). */
  private async authenticateJwt(req: IncomingMessage, res: ServerResponse, path: string[]): Promise<void> {
    const [serviceId, account, ...host] = path;
    const service = serviceId ? this.services.get(serviceId) : undefined;
    if (!service || account !== this.account) return error(res, 404, 'not_found', 'authenticator not found');
    const jwt = new URLSearchParams((await body(req)).toString('utf8')).get('jwt');
    const refuse = () => void res.writeHead(401).end();
    if (!jwt) return refuse();
    let claims: Claims;
    try {
      const decoded = decodeJwt(jwt);
      const keys = (await this.kubeJwks()).filter((k) => !decoded.header.kid || (k as { kid?: string }).kid === decoded.header.kid);
      if (!keys.some((k) => signatureValid(decoded, keyFromJwk(k)))) return refuse();
      claims = decoded.claims;
    } catch {
      return refuse();
    }
    if (timeProblem(claims, undefined, 0) || claims.iss !== service.issuer || !audiences(claims).includes(service.audience)) return refuse();
    let login: string;
    if (host.length > 0) login = `host/${decodeURIComponent(host.join('/'))}`;
    else if (service.tokenAppProperty && typeof claimAt(claims, service.tokenAppProperty) === 'string') {
      login = `host/${service.identityPath ? `${service.identityPath.replace(/^\/|\/$/g, '')}/` : ''}${claimAt(claims, service.tokenAppProperty) as string}`;
    } else return refuse();
    const role = this.roles.get(login);
    // The host's authn-jwt/<service>/<claim> annotations are what the token must carry.
    const prefix = `authn-jwt/${service.id}/`;
    const required = Object.entries(role?.annotations ?? {}).filter(([k]) => k.startsWith(prefix));
    if (!role || (host.length > 0 && required.length === 0)) return refuse();
    if (!required.every(([k, v]) => claimAt(claims, k.slice(prefix.length)) === v)) return refuse();
    this.sendToken(req, res, login);
  }

  private sendToken(req: IncomingMessage, res: ServerResponse, login: string): void {
    const iat = Math.floor(Date.now() / 1000);
    const protectedPart = b64(JSON.stringify({ alg: 'conjur.org/slosilo/v2', kid: this.kid }));
    const payload = b64(JSON.stringify({ sub: login, iat, exp: iat + this.tokenTtlSeconds }));
    const signature = createSign('RSA-SHA256').update(`${protectedPart}.${payload}`).sign(this.signingKey).toString('base64');
    const token = JSON.stringify({ protected: protectedPart, payload, signature });
    if (/\bbase64\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'base64' }).end(b64(token));
    } else res.writeHead(200, { 'content-type': 'application/json' }).end(token);
  }

  /** The role an `Authorization: Token token="<base64>"` header proves, if valid and unexpired. */
  private tokenRole(req: IncomingMessage): string | undefined {
    const given = /^Token token="([^"]+)"$/.exec(String(req.headers.authorization ?? ''))?.[1];
    if (!given) return undefined;
    try {
      const token = JSON.parse(Buffer.from(given, 'base64').toString('utf8')) as { protected: string; payload: string; signature: string };
      if (!createVerify('RSA-SHA256').update(`${token.protected}.${token.payload}`).verify(this.verifyKey, Buffer.from(token.signature, 'base64'))) return undefined;
      const payload = JSON.parse(Buffer.from(token.payload, 'base64').toString('utf8')) as { sub: string; exp: number };
      const role = roleOfLogin(payload.sub);
      return payload.exp > Date.now() / 1000 && this.roles.has(role) ? role : undefined;
    } catch {
      return undefined;
    }
  }

  /** A variable as the role may use it: 404 when it may not see it (as Conjur), 403 when it may see but not fetch. */
  private readable(res: ServerResponse, role: string, id: string): Variable | undefined {
    const variable = this.variables.get(id);
    if (!variable || !variable.read.has(role)) {
      error(res, 404, 'not_found', `Variable '${id}' not found in account '${this.account}'`);
      return undefined;
    }
    if (!variable.execute.has(role)) {
      error(res, 403, 'forbidden', 'Forbidden');
      return undefined;
    }
    return variable;
  }

  private secret(res: ServerResponse, url: URL, role: string, id: string): void {
    const variable = this.readable(res, role, id);
    if (!variable) return;
    const version = url.searchParams.get('version');
    if (version !== null && !/^[1-9][0-9]*$/.test(version)) return error(res, 422, 'unprocessable_entity', 'version must be a positive integer');
    const value = version === null ? variable.versions.at(-1) : variable.versions[Number(version) - 1];
    if (!value) return error(res, 404, 'not_found', `CONJ00076E Variable ${this.account}:variable:${id} is empty or not found.`);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': value.length }).end(value);
  }

  private async setSecret(req: IncomingMessage, res: ServerResponse, role: string, id: string): Promise<void> {
    const value = await body(req);
    if (role !== ADMIN) return error(res, 403, 'forbidden', 'Forbidden');
    this.addValue(id, value);
    res.writeHead(201).end();
  }

  /** GET /secrets?variable_ids=acct:variable:a,acct:variable:b - all or nothing. */
  private batch(req: IncomingMessage, res: ServerResponse, url: URL, role: string): void {
    const ids = (url.searchParams.get('variable_ids') ?? '').split(',');
    if (ids.some((i) => i.trim() === '')) return error(res, 422, 'unprocessable_entity', 'variable_ids must not be blank');
    const out: Record<string, string> = {};
    const asBase64 = /\bbase64\b/.test(String(req.headers['accept-encoding'] ?? ''));
    for (const full of ids) {
      const [account, kind, ...rest] = full.split(':');
      const id = rest.join(':');
      if (account !== this.account || kind !== 'variable') return error(res, 404, 'not_found', `Variable '${full}' not found`);
      const variable = this.readable(res, role, id);
      if (!variable) return;
      const value = variable.versions.at(-1);
      if (!value) return error(res, 404, 'not_found', `CONJ00076E Variable ${full} is empty or not found.`);
      const text = value.toString('utf8');
      // Binary values need the base64 response encoding, as in Conjur.
      if (!asBase64 && !Buffer.from(text, 'utf8').equals(value)) return error(res, 500, 'internal_server_error', 'a value is binary: request it with Accept-Encoding: base64');
      out[full] = asBase64 ? b64(value) : text;
    }
    json(res, 200, out, asBase64 ? { 'content-encoding': 'base64' } : {});
  }

  /** GET /resources/{account}/variable/{id}: one resource, if the role may see it. */
  private resource(res: ServerResponse, role: string, id: string): void {
    const variable = this.variables.get(id);
    if (!variable || !variable.read.has(role)) return error(res, 404, 'not_found', `Variable '${id}' not found in account '${this.account}'`);
    json(res, 200, this.describe(variable));
  }

  private describe(v: Variable): object {
    return {
      created_at: v.createdAt,
      id: `${this.account}:variable:${v.id}`,
      owner: `${this.account}:user:admin`,
      policy: `${this.account}:policy:root`,
      permissions: [...v.execute].filter((r) => r !== ADMIN).map((r) => ({ privilege: 'execute', role: `${this.account}:${r.replace('/', ':')}`, policy: `${this.account}:policy:root` })),
      annotations: Object.entries(v.annotations).map(([name, value]) => ({ name, value, policy: `${this.account}:policy:root` })),
      secrets: v.versions.map((_, i) => ({ version: i + 1 })),
    };
  }

  /** GET /resources/{account}?kind=&search=&limit=&offset=&count= - what the role may see. */
  private resources(res: ServerResponse, url: URL, role: string): void {
    const kind = url.searchParams.get('kind');
    const search = url.searchParams.get('search')?.toLowerCase();
    const limit = url.searchParams.get('limit');
    const offset = Number(url.searchParams.get('offset') ?? 0);
    if (kind && kind !== 'variable') return json(res, 200, url.searchParams.get('count') === 'true' ? { count: 0 } : []);
    const visible = [...this.variables.values()]
      .filter((v) => v.read.has(role))
      .filter((v) => !search || v.id.toLowerCase().includes(search) || Object.values(v.annotations).some((a) => a.toLowerCase().includes(search)))
      .sort((a, b) => a.id.localeCompare(b.id));
    if (url.searchParams.get('count') === 'true') return json(res, 200, { count: visible.length });
    const page = visible.slice(offset, limit === null ? undefined : offset + Number(limit));
    json(res, 200, page.map((v) => this.describe(v)));
  }
}

/** A claim by its path (kubernetes.io/namespace -> claims["kubernetes.io"]["namespace"]), as authn-jwt reads annotations. */
function claimAt(claims: Claims, path: string): unknown {
  if (path in claims) return claims[path];
  return path.split('/').reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), claims);
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
