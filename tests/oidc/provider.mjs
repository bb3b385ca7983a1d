// A local OpenID Connect provider for Tandem's sign-in tests (tests/test_signin.py).
//
//   node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI [REDIRECT_URI ...]
//
// Serves http://127.0.0.1:PORT/.well-known/openid-configuration with one confidential client.
// Sign-in is oidc-provider's development login page (devInteractions: a login field and a
// password field; any password); the login is the account's email. The ID token carries the
// claims Tandem reads: email, email_verified, name and groups. Consent is granted without a
// page (a first-party client). Prints "ready ISSUER" on stdout once it listens.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, ...redirectUris] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || redirectUris.length === 0) {
  console.error('usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI...');
  process.exit(2);
}

// The people of the tests: an admin, a member of one team, a member of two (one through the
// groups claim), a viewer, and a stranger outside [access]'s allow list.
const ACCOUNTS = {
  'ops@example.com': { name: 'Olive Ops', groups: [] },
  'alice@example.com': { name: 'Alice Growth', groups: [] },
  'bob@example.com': { name: 'Bob Both', groups: ['risk-ds'] },
  'cfo@example.com': { name: 'Cleo Finance', groups: [] },
  'mallory@evil.test': { name: 'Mallory', groups: [] },
};

const SCOPES = 'openid email profile groups';

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // The claims go into the ID token itself (Streamlit reads the ID token, not userinfo).
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id,
          email_verified: true,
          name: account.name,
          groups: account.groups,
        };
      },
    };
  },
  // First-party client: every scope and claim granted, no consent page.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(SCOPES);
    await grant.save();
    return grant;
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['tandem-test-provider-cookie-key'] },
});

// Quiet: the tests read the app's log for leaks, not this one; errors still go to stderr.
provider.on('server_error', (ctx, err) => console.error('server_error', err));

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
