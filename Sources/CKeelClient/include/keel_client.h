/*
 * keel_client — a C client of KWP/1, the Keel wire protocol (docs/protocol.md), on protobuf-c.
 *
 * One connection, one call at a time: connect (says Hello), make unary calls with a timeout, close.
 * Request and response bodies are the protobuf encodings of the method's messages; the protoc-c code
 * for every Keel message is built into this library (headers under generated/keel/...).
 */
#ifndef KEEL_CLIENT_H
#define KEEL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct keel_client keel_client;

typedef struct keel_metadata {
    const char *key;   /* lower-case ASCII */
    const char *value;
} keel_metadata;

/* gRPC canonical status codes used for local outcomes. */
enum {
    KEEL_STATUS_OK = 0,
    KEEL_STATUS_CANCELLED = 1,
    KEEL_STATUS_INVALID_ARGUMENT = 3,
    KEEL_STATUS_DEADLINE_EXCEEDED = 4,
    KEEL_STATUS_RESOURCE_EXHAUSTED = 8,
    KEEL_STATUS_INTERNAL = 13,
    KEEL_STATUS_UNAVAILABLE = 14
};

typedef struct keel_call_result {
    int32_t status_code;   /* the call's Status code, or a local one (DEADLINE_EXCEEDED, UNAVAILABLE, ...) */
    char *status_message;  /* NUL-terminated, never NULL after a call */
    char *reason;          /* ErrorInfo.reason, "" when none */
    char *field;           /* ErrorInfo.metadata["field"], "" when none */
    uint8_t *body;         /* the Response body, NULL when none */
    size_t body_len;
} keel_call_result;

/*
 * Connects to host:port and exchanges Hello. Returns NULL on failure with a message in `error`.
 * `token` (may be NULL) is sent as `authorization: Bearer <token>` on every call.
 */
keel_client *keel_client_connect(const char *host, uint16_t port, const char *peer_name, const char *token,
                                 uint32_t timeout_ms, char *error, size_t error_len);

/* The max_frame_bytes the server announced in its Hello. */
uint32_t keel_client_server_max_frame_bytes(const keel_client *client);

/*
 * One unary call. `timeout_ms` 0 = no deadline. Returns 0 when `result` holds an outcome (see
 * result->status_code; a local timeout is DEADLINE_EXCEEDED and sends Cancel), -1 when the
 * arguments are unusable. Free the result with keel_call_result_free.
 */
int keel_client_call(keel_client *client, const char *method, const keel_metadata *metadata, size_t metadata_count,
                     const uint8_t *body, size_t body_len, uint32_t timeout_ms, keel_call_result *result);

void keel_call_result_free(keel_call_result *result);

/* Sends GoAway and closes the connection. */
void keel_client_close(keel_client *client);

/*
 * keel.health.v1.Health/Check for `service` ("" = the process): encodes HealthCheckRequest and
 * decodes HealthCheckResponse with protobuf-c. `*serving_status` is the ServingStatus number
 * (1 = SERVING) when result->status_code is 0.
 */
int keel_health_check(keel_client *client, const char *service, uint32_t timeout_ms, int32_t *serving_status,
                      keel_call_result *result);

#ifdef __cplusplus
}
#endif

#endif
