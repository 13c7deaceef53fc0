#ifndef CERTS_COPENSSL_SHIM_H
#define CERTS_COPENSSL_SHIM_H

#include <string.h>
#include <openssl/opensslv.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>

#if OPENSSL_VERSION_MAJOR < 3
#error "certs needs OpenSSL 3 (Debian: apt-get install libssl-dev)"
#endif

/* Macros and inline helpers Swift cannot import, as plain functions. */

static inline long certs_BIO_get_mem_data(BIO *bio, char **out) { return BIO_get_mem_data(bio, out); }
static inline void certs_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline int certs_ERR_GET_LIB(unsigned long e) { return ERR_GET_LIB(e); }
static inline int certs_ERR_GET_REASON(unsigned long e) { return ERR_GET_REASON(e); }

/* The first bytes a peer sent, recorded by a BIO callback: when a TLS handshake fails because
 * the server spoke another protocol, they say which (an SMTP banner, an HTTP response). */
typedef struct { unsigned char bytes[64]; size_t count; } certs_read_record;
static inline long certs_record_reads(BIO *b, int oper, const char *argp, size_t len, int argi,
                                      long argl, int ret, size_t *processed) {
    (void)len; (void)argi; (void)argl;
    if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed != NULL && argp != NULL) {
        certs_read_record *r = (certs_read_record *)BIO_get_callback_arg(b);
        size_t n = *processed;
        if (r != NULL) {
            if (n > sizeof r->bytes - r->count) n = sizeof r->bytes - r->count;
            memcpy(r->bytes + r->count, argp, n);
            r->count += n;
        }
    }
    return ret;
}
static inline void certs_BIO_record_reads(BIO *b, certs_read_record *r) {
    BIO_set_callback_arg(b, (char *)r);
    BIO_set_callback_ex(b, certs_record_reads);
}

/* crlDistributionPoints: the fullName URIs of each DistributionPoint (RFC 5280 4.2.1.13) */
static inline int certs_sk_DIST_POINT_num(const STACK_OF(DIST_POINT) *s) { return sk_DIST_POINT_num(s); }
static inline DIST_POINT *certs_sk_DIST_POINT_value(const STACK_OF(DIST_POINT) *s, int i) { return sk_DIST_POINT_value(s, i); }
static inline void certs_CRL_DIST_POINTS_free(STACK_OF(DIST_POINT) *s) { sk_DIST_POINT_pop_free(s, DIST_POINT_free); }
static inline GENERAL_NAMES *certs_DIST_POINT_fullname(DIST_POINT *dp) {
    return dp != NULL && dp->distpoint != NULL && dp->distpoint->type == 0 ? dp->distpoint->name.fullname : NULL;
}

/* STACK_OF(X509) */
static inline STACK_OF(X509) *certs_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int certs_sk_X509_push(STACK_OF(X509) *s, X509 *x) { return sk_X509_push(s, x); }
static inline int certs_sk_X509_num(const STACK_OF(X509) *s) { return sk_X509_num(s); }
static inline X509 *certs_sk_X509_value(const STACK_OF(X509) *s, int i) { return sk_X509_value(s, i); }
static inline void certs_sk_X509_free(STACK_OF(X509) *s) { sk_X509_free(s); }
static inline void certs_sk_X509_pop_free(STACK_OF(X509) *s) { sk_X509_pop_free(s, X509_free); }

/* STACK_OF(GENERAL_NAME) */
static inline int certs_sk_GENERAL_NAME_num(const GENERAL_NAMES *s) { return sk_GENERAL_NAME_num(s); }
static inline GENERAL_NAME *certs_sk_GENERAL_NAME_value(const GENERAL_NAMES *s, int i) { return sk_GENERAL_NAME_value(s, i); }

/* STACK_OF(ASN1_OBJECT), used by extendedKeyUsage */
static inline int certs_sk_ASN1_OBJECT_num(const STACK_OF(ASN1_OBJECT) *s) { return sk_ASN1_OBJECT_num(s); }
static inline ASN1_OBJECT *certs_sk_ASN1_OBJECT_value(const STACK_OF(ASN1_OBJECT) *s, int i) { return sk_ASN1_OBJECT_value(s, i); }

/* STACK_OF(ACCESS_DESCRIPTION), used by authorityInfoAccess */
static inline int certs_sk_ACCESS_DESCRIPTION_num(const AUTHORITY_INFO_ACCESS *s) { return sk_ACCESS_DESCRIPTION_num(s); }
static inline ACCESS_DESCRIPTION *certs_sk_ACCESS_DESCRIPTION_value(const AUTHORITY_INFO_ACCESS *s, int i) { return sk_ACCESS_DESCRIPTION_value(s, i); }

/* STACK_OF(X509_EXTENSION), used by CSRs */
static inline STACK_OF(X509_EXTENSION) *certs_sk_X509_EXTENSION_new_null(void) { return sk_X509_EXTENSION_new_null(); }
static inline int certs_sk_X509_EXTENSION_push(STACK_OF(X509_EXTENSION) *s, X509_EXTENSION *e) { return sk_X509_EXTENSION_push(s, e); }
static inline int certs_sk_X509_EXTENSION_num(const STACK_OF(X509_EXTENSION) *s) { return sk_X509_EXTENSION_num(s); }
static inline X509_EXTENSION *certs_sk_X509_EXTENSION_value(const STACK_OF(X509_EXTENSION) *s, int i) { return sk_X509_EXTENSION_value(s, i); }
static inline void certs_sk_X509_EXTENSION_pop_free(STACK_OF(X509_EXTENSION) *s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }

/* PKCS#7 certificate bags (.p7b) */
static inline STACK_OF(X509) *certs_PKCS7_certificates(PKCS7 *p7) {
    if (p7 == NULL || p7->d.ptr == NULL) return NULL;
    int nid = OBJ_obj2nid(p7->type);
    if (nid == NID_pkcs7_signed) return p7->d.sign ? p7->d.sign->cert : NULL;
    if (nid == NID_pkcs7_signedAndEnveloped) return p7->d.signed_and_enveloped ? p7->d.signed_and_enveloped->cert : NULL;
    return NULL;
}

/* GENERAL_NAME accessors (the union is awkward from Swift). */
static inline int certs_GENERAL_NAME_type(const GENERAL_NAME *g) { return g->type; }
static inline const ASN1_STRING *certs_GENERAL_NAME_string(const GENERAL_NAME *g) {
    switch (g->type) {
    case GEN_DNS: return g->d.dNSName;
    case GEN_EMAIL: return g->d.rfc822Name;
    case GEN_URI: return g->d.uniformResourceIdentifier;
    case GEN_IPADD: return g->d.iPAddress;
    default: return NULL;
    }
}
static inline X509_NAME *certs_GENERAL_NAME_dirname(const GENERAL_NAME *g) {
    return g->type == GEN_DIRNAME ? g->d.directoryName : NULL;
}
static inline const ASN1_OBJECT *certs_ACCESS_DESCRIPTION_method(const ACCESS_DESCRIPTION *a) { return a->method; }
static inline const GENERAL_NAME *certs_ACCESS_DESCRIPTION_location(const ACCESS_DESCRIPTION *a) { return a->location; }

/* BASIC_CONSTRAINTS fields */
static inline int certs_BASIC_CONSTRAINTS_ca(const BASIC_CONSTRAINTS *b) { return b->ca ? 1 : 0; }
static inline long certs_BASIC_CONSTRAINTS_pathlen(const BASIC_CONSTRAINTS *b) {
    return b->pathlen ? ASN1_INTEGER_get(b->pathlen) : -1;
}

/* AUTHORITY_KEYID */
static inline const ASN1_OCTET_STRING *certs_AUTHORITY_KEYID_keyid(const AUTHORITY_KEYID *a) { return a->keyid; }

/* A password callback that never prompts: OpenSSL's default one reads the terminal. */
static inline int certs_no_password_cb(char *buf, int size, int rwflag, void *u) {
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}
static inline pem_password_cb *certs_no_password_callback(void) { return certs_no_password_cb; }

/* X509V3_set_ctx needs a ctx struct on the caller's side. */
static inline X509_EXTENSION *certs_make_extension(X509 *issuer, X509 *subject, X509_REQ *req, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, subject, req, NULL, 0);
    return X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
}

/* An extension for a CRL the issuer signs (authorityKeyIdentifier keyid:always). */
static inline X509_EXTENSION *certs_make_crl_extension(X509 *issuer, X509_CRL *crl, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    return X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
}

/* TLS client (certs verify --connect): SNI is a macro over SSL_ctrl. */
static inline int certs_SSL_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
/* The key-exchange group of the handshake (a NID; TLSEXT_nid_unknown|id for groups OpenSSL has no
   NID for), and the server's ephemeral key when the group is not known (TLS 1.2 FFDHE). */
static inline int certs_SSL_get_negotiated_group(SSL *ssl) { return (int)SSL_get_negotiated_group(ssl); }
static inline int certs_SSL_get_peer_tmp_key(SSL *ssl, EVP_PKEY **key) { return (int)SSL_get_peer_tmp_key(ssl, key); }
static inline int certs_TLSEXT_nid_unknown(void) { return TLSEXT_nid_unknown; }
/* A client that still offers TLS 1.0 and 1.1, to learn what an old server speaks. */
static inline int certs_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_min_proto_version(ctx, version); }

/* PKCS#12 files from older Windows and OpenSSL 1.x use RC2-40, which OpenSSL 3 keeps in the
   legacy provider: loaded on demand (with the default provider, which an explicit load would
   otherwise displace) when an archive needs it. */
#include <openssl/provider.h>
static inline int certs_load_legacy_provider(void) {
    static OSSL_PROVIDER *legacy = NULL;
    if (legacy != NULL) return 1;
    (void)OSSL_PROVIDER_load(NULL, "default");
    legacy = OSSL_PROVIDER_load(NULL, "legacy");
    return legacy != NULL ? 1 : 0;
}

/* TLS-ALPN-01 responder (RFC 8737): a server context that speaks only the acme-tls/1 protocol.
 * The ClientHello callback refuses (no_application_protocol alert) every handshake whose ALPN
 * list lacks acme-tls/1, including one with no ALPN at all (OpenSSL calls the ALPN select
 * callback only when the client sent the extension). The certificate callback suspends the
 * handshake (SSL_ERROR_WANT_X509_LOOKUP) until the caller has set the connection's certificate
 * for the SNI name it read with SSL_get_servername; no Swift code runs inside OpenSSL. */
static const unsigned char certs_acme_tls_1_wire[] = { 10, 'a', 'c', 'm', 'e', '-', 't', 'l', 's', '/', '1' };
static inline int certs_acme_tls_1_offered(SSL *s) {
    const unsigned char *p = NULL; size_t len = 0;
    if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &len) != 1 || len < 2) return 0;
    size_t list = ((size_t)p[0] << 8) | p[1];
    if (list != len - 2) return 0;
    p += 2; len -= 2;
    while (len > 0) {
        size_t n = p[0];
        if (n + 1 > len) return 0;
        if (n == 10 && memcmp(p + 1, "acme-tls/1", 10) == 0) return 1;
        p += n + 1; len -= n + 1;
    }
    return 0;
}
static inline int certs_acme_client_hello_cb(SSL *s, int *alert, void *arg) {
    (void)arg;
    if (certs_acme_tls_1_offered(s)) return SSL_CLIENT_HELLO_SUCCESS;
    *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
    return SSL_CLIENT_HELLO_ERROR;
}
static inline int certs_acme_alpn_select_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
                                            const unsigned char *in, unsigned int inlen, void *arg) {
    (void)s; (void)arg;
    unsigned char *chosen = NULL;
    if (SSL_select_next_proto(&chosen, outlen, certs_acme_tls_1_wire, sizeof certs_acme_tls_1_wire, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}
static inline int certs_acme_cert_cb(SSL *s, void *arg) { (void)arg; return SSL_get_certificate(s) != NULL ? 1 : -1; }
static inline void certs_SSL_CTX_serve_acme_tls_1(SSL_CTX *ctx) {
    SSL_CTX_set_client_hello_cb(ctx, certs_acme_client_hello_cb, NULL);
    SSL_CTX_set_alpn_select_cb(ctx, certs_acme_alpn_select_cb, NULL);
    SSL_CTX_set_cert_cb(ctx, certs_acme_cert_cb, NULL);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}
static inline const char *certs_SSL_get_servername(const SSL *s) { return SSL_get_servername(s, TLSEXT_NAMETYPE_host_name); }

#endif
