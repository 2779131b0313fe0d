// A real OpenID provider (oidc-provider) on loopback for the hub's single sign-on tests.
//
// Environment:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET    the one registered client
//   OIDC_REDIRECT_URIS                    space-separated redirect URIs of that client
//   OIDC_POST_LOGOUT_REDIRECT_URIS        space-separated post-logout redirect URIs
//   OIDC_ACCOUNTS                         JSON list: [{"sub", "email", "email_verified", "name"}];
//                                         the provider's own login page takes the sub as login
//   OIDC_ID_TOKEN_TTL                     ID token lifetime in seconds (default 3600)
//   PORT                                  port on 127.0.0.1 (default 0: any free port)
// Prints "READY <issuer>" once it listens.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const env = process.env;
const words = (value) => (value || '').split(/\s+/).filter(Boolean);
const accounts = new Map(JSON.parse(env.OIDC_ACCOUNTS || '[]').map((a) => [a.sub, a]));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };

const configuration = {
  clients: [
    {
      client_id: env.OIDC_CLIENT_ID || 'hub',
      client_secret: env.OIDC_CLIENT_SECRET || 'hub-secret',
      redirect_uris: words(env.OIDC_REDIRECT_URIS),
      post_logout_redirect_uris: words(env.OIDC_POST_LOGOUT_REDIRECT_URIS),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: { IdToken: Number(env.OIDC_ID_TOKEN_TTL || 3600) },
  async findAccount(_ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: account.email, email_verified: Boolean(account.email_verified), name: account.name || id };
      },
    };
  },
};

const server = http.createServer();
server.listen(Number(env.PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  server.on('request', provider.callback());
  console.log(`READY ${issuer}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
