/* KWP/1 client on protobuf-c. See include/keel_client.h. */
#define _GNU_SOURCE
#include "keel_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "keel/health/v1/health.pb-c.h"
#include "keel/wire/v1/wire.pb-c.h"

#define KEEL_PROTOCOL "kwp/1"
#define KEEL_CLIENT_MAX_FRAME (4u * 1024u * 1024u)

struct keel_client {
    int fd;
    uint64_t next_call_id;
    uint32_t server_max_frame_bytes;
    char *authorization;
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before `deadline` (-1 = none), for poll(). */
static int remaining(int64_t deadline) {
    if (deadline < 0) return -1;
    int64_t left = deadline - now_ms();
    return left > 0 ? (int)(left > 2147483647 ? 2147483647 : left) : 0;
}

static char *dup_string(const char *text) {
    return strdup(text ? text : "");
}

static void set_result(keel_call_result *result, int32_t code, const char *message) {
    result->status_code = code;
    result->status_message = dup_string(message);
    result->reason = dup_string("");
    result->field = dup_string("");
}

static int write_all(int fd, const uint8_t *data, size_t length) {
    while (length > 0) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

/* Reads exactly `length` bytes before `deadline`: 0 ok, -1 I/O error or EOF, -2 timeout. */
static int read_exact(int fd, uint8_t *data, size_t length, int64_t deadline) {
    while (length > 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, remaining(deadline));
        if (ready < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (ready == 0) return -2;
        ssize_t n = recv(fd, data, length, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return -1;
        }
        if (n == 0) return -1;
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

static int send_frame(keel_client *client, const Keel__Wire__V1__Frame *frame) {
    size_t size = keel__wire__v1__frame__get_packed_size(frame);
    uint8_t *buffer = malloc(size + 4);
    if (!buffer) return -1;
    buffer[0] = (uint8_t)(size >> 24);
    buffer[1] = (uint8_t)(size >> 16);
    buffer[2] = (uint8_t)(size >> 8);
    buffer[3] = (uint8_t)size;
    keel__wire__v1__frame__pack(frame, buffer + 4);
    int rc = write_all(client->fd, buffer, size + 4);
    free(buffer);
    return rc;
}

/* Reads one frame: 0 ok (*out set), -1 I/O or protocol error, -2 timeout. */
static int read_frame(keel_client *client, int64_t deadline, Keel__Wire__V1__Frame **out) {
    uint8_t prefix[4];
    int rc = read_exact(client->fd, prefix, 4, deadline);
    if (rc != 0) return rc;
    uint32_t length = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 | (uint32_t)prefix[2] << 8 | prefix[3];
    /* Check the length before allocating (docs/protocol.md#2-framing). */
    if (length == 0 || length > KEEL_CLIENT_MAX_FRAME) return -1;
    uint8_t *body = malloc(length);
    if (!body) return -1;
    rc = read_exact(client->fd, body, length, deadline);
    if (rc != 0) {
        free(body);
        return rc;
    }
    *out = keel__wire__v1__frame__unpack(NULL, length, body);
    free(body);
    return *out ? 0 : -1;
}

keel_client *keel_client_connect(const char *host, uint16_t port, const char *peer_name, const char *token,
                                 uint32_t timeout_ms, char *error, size_t error_len) {
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints = {0}, *addresses = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, service, &hints, &addresses);
    if (rc != 0) {
        snprintf(error, error_len, "cannot resolve %s: %s", host, gai_strerror(rc));
        return NULL;
    }
    int fd = -1;
    for (struct addrinfo *a = addresses; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(addresses);
    if (fd < 0) {
        snprintf(error, error_len, "cannot connect to %s:%u: %s", host, (unsigned)port, strerror(errno));
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    keel_client *client = calloc(1, sizeof *client);
    if (!client) {
        close(fd);
        snprintf(error, error_len, "out of memory");
        return NULL;
    }
    client->fd = fd;
    client->next_call_id = 1;
    if (token) {
        size_t n = strlen(token) + sizeof "Bearer ";
        client->authorization = malloc(n);
        if (client->authorization) snprintf(client->authorization, n, "Bearer %s", token);
    }

    Keel__Wire__V1__Hello hello = KEEL__WIRE__V1__HELLO__INIT;
    hello.protocol = (char *)KEEL_PROTOCOL;
    hello.max_frame_bytes = KEEL_CLIENT_MAX_FRAME;
    hello.peer = (char *)(peer_name ? peer_name : "keel-c-client");
    Keel__Wire__V1__Frame frame = KEEL__WIRE__V1__FRAME__INIT;
    frame.kind_case = KEEL__WIRE__V1__FRAME__KIND_HELLO;
    frame.hello = &hello;
    if (send_frame(client, &frame) != 0) {
        snprintf(error, error_len, "cannot send Hello: %s", strerror(errno));
        keel_client_close(client);
        return NULL;
    }
    int64_t deadline = timeout_ms ? now_ms() + timeout_ms : -1;
    Keel__Wire__V1__Frame *reply = NULL;
    rc = read_frame(client, deadline, &reply);
    if (rc != 0) {
        snprintf(error, error_len, rc == -2 ? "no Hello from the server in time" : "the connection failed before Hello");
        keel_client_close(client);
        return NULL;
    }
    if (reply->kind_case != KEEL__WIRE__V1__FRAME__KIND_HELLO || strcmp(reply->hello->protocol, KEEL_PROTOCOL) != 0) {
        if (reply->kind_case == KEEL__WIRE__V1__FRAME__KIND_GO_AWAY)
            snprintf(error, error_len, "server refused: %s", reply->go_away->message);
        else
            snprintf(error, error_len, "the server did not answer with a kwp/1 Hello");
        keel__wire__v1__frame__free_unpacked(reply, NULL);
        keel_client_close(client);
        return NULL;
    }
    client->server_max_frame_bytes = reply->hello->max_frame_bytes ? reply->hello->max_frame_bytes : KEEL_CLIENT_MAX_FRAME;
    keel__wire__v1__frame__free_unpacked(reply, NULL);
    return client;
}

uint32_t keel_client_server_max_frame_bytes(const keel_client *client) {
    return client->server_max_frame_bytes;
}

static void send_cancel(keel_client *client, uint64_t call_id) {
    Keel__Wire__V1__Cancel cancel = KEEL__WIRE__V1__CANCEL__INIT;
    Keel__Wire__V1__Frame frame = KEEL__WIRE__V1__FRAME__INIT;
    frame.call_id = call_id;
    frame.kind_case = KEEL__WIRE__V1__FRAME__KIND_CANCEL;
    frame.cancel = &cancel;
    (void)send_frame(client, &frame);
}

static void send_pong(keel_client *client, uint64_t nonce) {
    Keel__Wire__V1__Pong pong = KEEL__WIRE__V1__PONG__INIT;
    pong.nonce = nonce;
    Keel__Wire__V1__Frame frame = KEEL__WIRE__V1__FRAME__INIT;
    frame.kind_case = KEEL__WIRE__V1__FRAME__KIND_PONG;
    frame.pong = &pong;
    (void)send_frame(client, &frame);
}

int keel_client_call(keel_client *client, const char *method, const keel_metadata *metadata, size_t metadata_count,
                     const uint8_t *body, size_t body_len, uint32_t timeout_ms, keel_call_result *result) {
    if (!client || !method || !result || (metadata_count && !metadata)) return -1;
    memset(result, 0, sizeof *result);
    if (client->fd < 0) {
        set_result(result, KEEL_STATUS_UNAVAILABLE, "the connection is closed");
        return 0;
    }

    size_t entries = metadata_count + (client->authorization ? 1 : 0);
    Keel__Wire__V1__Request__MetadataEntry *storage = calloc(entries ? entries : 1, sizeof *storage);
    Keel__Wire__V1__Request__MetadataEntry **pointers = calloc(entries ? entries : 1, sizeof *pointers);
    if (!storage || !pointers) {
        free(storage);
        free(pointers);
        set_result(result, KEEL_STATUS_INTERNAL, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < entries; i++) {
        Keel__Wire__V1__Request__MetadataEntry init = KEEL__WIRE__V1__REQUEST__METADATA_ENTRY__INIT;
        storage[i] = init;
        if (i < metadata_count) {
            storage[i].key = (char *)metadata[i].key;
            storage[i].value = (char *)metadata[i].value;
        } else {
            storage[i].key = (char *)"authorization";
            storage[i].value = client->authorization;
        }
        pointers[i] = &storage[i];
    }

    Keel__Wire__V1__Request request = KEEL__WIRE__V1__REQUEST__INIT;
    request.method = (char *)method;
    request.n_metadata = entries;
    request.metadata = pointers;
    request.timeout_ms = timeout_ms;
    request.body.data = (uint8_t *)body;
    request.body.len = body_len;
    uint64_t call_id = client->next_call_id;
    client->next_call_id += 2;
    Keel__Wire__V1__Frame frame = KEEL__WIRE__V1__FRAME__INIT;
    frame.call_id = call_id;
    frame.kind_case = KEEL__WIRE__V1__FRAME__KIND_REQUEST;
    frame.request = &request;

    size_t size = keel__wire__v1__frame__get_packed_size(&frame);
    int rc = 0;
    if (size > client->server_max_frame_bytes) {
        set_result(result, KEEL_STATUS_RESOURCE_EXHAUSTED, "request exceeds the server's max_frame_bytes");
    } else if (send_frame(client, &frame) != 0) {
        set_result(result, KEEL_STATUS_UNAVAILABLE, "cannot send the request");
    } else {
        int64_t deadline = timeout_ms ? now_ms() + timeout_ms : -1;
        for (;;) {
            Keel__Wire__V1__Frame *reply = NULL;
            rc = read_frame(client, deadline, &reply);
            if (rc == -2) {
                send_cancel(client, call_id);
                set_result(result, KEEL_STATUS_DEADLINE_EXCEEDED, "no answer before the deadline");
                break;
            }
            if (rc != 0) {
                set_result(result, KEEL_STATUS_UNAVAILABLE, "the connection was lost");
                break;
            }
            if (reply->kind_case == KEEL__WIRE__V1__FRAME__KIND_PING) {
                send_pong(client, reply->ping->nonce);
            } else if (reply->kind_case == KEEL__WIRE__V1__FRAME__KIND_GO_AWAY && call_id > reply->go_away->last_call_id) {
                set_result(result, KEEL_STATUS_UNAVAILABLE, reply->go_away->message);
                keel__wire__v1__frame__free_unpacked(reply, NULL);
                break;
            } else if (reply->call_id == call_id && reply->kind_case == KEEL__WIRE__V1__FRAME__KIND_RESPONSE) {
                free(result->body);
                result->body = malloc(reply->response->body.len ? reply->response->body.len : 1);
                if (result->body) {
                    memcpy(result->body, reply->response->body.data, reply->response->body.len);
                    result->body_len = reply->response->body.len;
                }
            } else if (reply->call_id == call_id && reply->kind_case == KEEL__WIRE__V1__FRAME__KIND_STATUS) {
                Keel__Wire__V1__Status *status = reply->status;
                result->status_code = status->code;
                result->status_message = dup_string(status->message);
                result->reason = dup_string(status->details ? status->details->reason : "");
                result->field = NULL;
                if (status->details) {
                    for (size_t i = 0; i < status->details->n_metadata; i++) {
                        if (strcmp(status->details->metadata[i]->key, "field") == 0) {
                            result->field = dup_string(status->details->metadata[i]->value);
                        }
                    }
                }
                if (!result->field) result->field = dup_string("");
                keel__wire__v1__frame__free_unpacked(reply, NULL);
                break;
            }
            keel__wire__v1__frame__free_unpacked(reply, NULL);
        }
        rc = 0;
    }
    free(storage);
    free(pointers);
    return rc;
}

void keel_call_result_free(keel_call_result *result) {
    if (!result) return;
    free(result->status_message);
    free(result->reason);
    free(result->field);
    free(result->body);
    memset(result, 0, sizeof *result);
}

void keel_client_close(keel_client *client) {
    if (!client) return;
    if (client->fd >= 0) {
        Keel__Wire__V1__GoAway go_away = KEEL__WIRE__V1__GO_AWAY__INIT;
        go_away.message = (char *)"client closing";
        Keel__Wire__V1__Frame frame = KEEL__WIRE__V1__FRAME__INIT;
        frame.kind_case = KEEL__WIRE__V1__FRAME__KIND_GO_AWAY;
        frame.go_away = &go_away;
        (void)send_frame(client, &frame);
        close(client->fd);
        client->fd = -1;
    }
    free(client->authorization);
    free(client);
}

int keel_health_check(keel_client *client, const char *service, uint32_t timeout_ms, int32_t *serving_status,
                      keel_call_result *result) {
    Keel__Health__V1__HealthCheckRequest request = KEEL__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    request.service = (char *)(service ? service : "");
    size_t size = keel__health__v1__health_check_request__get_packed_size(&request);
    uint8_t *body = malloc(size ? size : 1);
    if (!body) return -1;
    keel__health__v1__health_check_request__pack(&request, body);
    int rc = keel_client_call(client, "/keel.health.v1.Health/Check", NULL, 0, body, size, timeout_ms, result);
    free(body);
    if (rc != 0 || result->status_code != KEEL_STATUS_OK) return rc;
    Keel__Health__V1__HealthCheckResponse *response =
        keel__health__v1__health_check_response__unpack(NULL, result->body_len, result->body);
    if (!response) {
        free(result->status_message);
        result->status_message = dup_string("HealthCheckResponse does not decode");
        result->status_code = KEEL_STATUS_INTERNAL;
        return 0;
    }
    *serving_status = response->status;
    keel__health__v1__health_check_response__free_unpacked(response, NULL);
    return 0;
}
