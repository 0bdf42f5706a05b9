/* Blockwise transfers, RFC 7959 (rows B1, B2). */
#include "common.h"

#include "../transports/addr.h"

#define UPLOAD_BYTES 2048

/* The peer's PEER_BLOCKWISE_BYTES of PEER_PATTERN at `path`, whole at the API. */
static const struct coapmx_message *download(struct cell *cx, struct iut_endpoint *ep,
                                             const char *path)
{
    const struct coapmx_message *down = cell_get(cx, ep, 0, path);
    CX_EXPECT_INT(cx, down->msg.payload_len, PEER_BLOCKWISE_BYTES, "bytes downloaded");
    for (size_t i = 0; i < down->msg.payload_len; i++)
        CX_EXPECT(cx, down->msg.payload[i] == PEER_PATTERN(i), "downloaded byte %zu is wrong", i);
    return down;
}

/* B1: a 10 KiB Block2 download and a 2 KiB Block1 upload, whole at the API and block by block
 * on the wire, every block from the same source port. */
static void blockwise_transfers(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    const struct coapmx_message *down = download(cx, ep, "big10k");
    if (cell_caps(cx)->hostinfo) { /* the whole response is named like any other */
        char expected[COAPMX_HOSTINFO_MAX];
        cell_expected_hostinfo(cx, 0, expected, sizeof expected);
        CX_EXPECT_STR(cx, down->remote.hostinfo, expected, "remote of the reassembled download");
    }

    static uint8_t body[UPLOAD_BYTES];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)PEER_PATTERN(i);
    char uri[300];
    cell_uri(cx, 0, "upload", uri, sizeof uri);
    struct coapmx_request put = {.type = COAP_CON,
                                 .method = COAP_PUT,
                                 .uri = uri,
                                 .payload = body,
                                 .payload_len = sizeof body};
    const struct coapmx_message *up;
    struct coapmx_error err;
    CX_EXPECT(cx, cell_send_request(cx, ep, &put, &up, &err) == 0, "PUT %s: %s", uri, err.message);
    CX_EXPECT_INT(cx, up->msg.code, COAP_CHANGED, "code of the upload's final response");
    expect_payload(cx, up, "got 2048 bytes, pattern ok");

    const struct wire_capture *cap = cell_wire(cx);
    uint32_t blocks[16];
    size_t n = block_requests(cx, cap, "big10k", COAP_OPT_BLOCK2, blocks, 16);
    CX_EXPECT_INT(cx, n, PEER_BLOCKWISE_BYTES / 1024, "Block2 requests on the wire");
    for (size_t i = 1; i < n; i++)
        CX_EXPECT_INT(cx, blocks[i] >> 4, i, "block number requested");
    n = block_requests(cx, cap, "upload", COAP_OPT_BLOCK1, blocks, 16);
    CX_EXPECT_INT(cx, n, 2, "Block1 requests on the wire");
    CX_EXPECT_INT(cx, blocks[0], 0 << 4 | 8 | 6, "Block1 of the first block (0, more, 1024)");
    CX_EXPECT_INT(cx, blocks[1], 1 << 4 | 0 | 6, "Block1 of the last block (1, last, 1024)");

    /* The smallest bodies go whole: one byte, and none (no payload marker at all). */
    static const char *const said[] = {"got 0 bytes, pattern ok", "got 1 bytes, pattern ok"};
    for (size_t size = 0; size < 2; size++) {
        put.payload_len = size;
        CX_EXPECT(cx, cell_send_request(cx, ep, &put, &up, &err) == 0, "PUT of %zu bytes: %s", size,
                  err.message);
        expect_payload(cx, up, said[size]);
    }
}

/* B5: a server answers with smaller blocks than asked for (RFC 7959 §2.4): the client goes on
 * in the server's size, every block in order, and hands over the whole body. */
static void server_block_size(struct cell *cx)
{
    download(cx, cell_client(cx), "big10k-small");
    enum { SMALL_BLOCKS = PEER_BLOCKWISE_BYTES / PEER_SMALL_BLOCK };
    static uint32_t blocks[SMALL_BLOCKS + 1];
    size_t n = block_requests(cx, cell_wire(cx), "big10k-small", COAP_OPT_BLOCK2, blocks,
                              SMALL_BLOCKS + 1);
    CX_EXPECT_INT(cx, n, SMALL_BLOCKS, "Block2 requests on the wire");
    /* From the second on, in the server's size: block numbers past 15 take two bytes */
    for (size_t i = 1; i < n; i++)
        CX_EXPECT_INT(cx, blocks[i], (uint32_t)i << 4 | PEER_SMALL_SZX,
                      "Block2 of a request after the server chose 64-byte blocks");
}

static size_t encode_block1_szx(struct cell *cx, uint16_t mid, uint32_t num, bool more,
                                unsigned szx, uint8_t *buf, size_t cap)
{
    static uint8_t block[1024];
    uint8_t value[4];
    struct coap_msg m;
    size_t len = 0;
    memset(block, 'z', sizeof block);
    coap_msg_init(&m, COAP_CON, COAP_PUT, mid);
    coap_msg_set_token(&m, (const uint8_t *)"b2", 2);
    coap_msg_add_option(&m, COAP_OPT_URI_PATH, "up", 2);
    coap_msg_add_option(&m, COAP_OPT_BLOCK1, value,
                        coap_uint_encode(num << 4 | (more ? 8u : 0u) | szx, value));
    m.payload = block;
    m.payload_len = sizeof block;
    CX_EXPECT(cx, coap_encode(&m, buf, cap, &len) == COAP_OK, "cannot encode a block");
    return len;
}

/* A block of 1024 bytes (SZX 6). */
static size_t encode_block1(struct cell *cx, uint16_t mid, uint32_t num, bool more, uint8_t *buf,
                            size_t cap)
{
    return encode_block1_szx(cx, mid, num, more, 6, buf, cap);
}

/* B2: a Block1 body must come from one key: a block from another source mid-transfer gets
 * 4.08 Request Entity Incomplete and never reaches the handler. */
static void key_change_incomplete(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    struct sockaddr_storage client, peer, other;
    client_seen_by_peer(cx, &client, &peer);
    cell_peer_sockaddr(cx, peer.ss_family, PEER_PORT_ALT, &other);
    uint8_t buf[1200];
    size_t len = encode_block1(cx, 0x4101, 0, true, buf, sizeof buf);
    CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&peer, (void *)&client, buf, len), 0,
                  "errno of block 0");
    const struct coap_msg *continued = peer_answer(cx, &peer, 0x4101);
    CX_EXPECT_INT(cx, continued->code, COAP_CONTINUE, "answer to block 0");
    /* The 2.31 names the block it acknowledges (RFC 7959 §2.3). */
    const struct coap_option *echo = coap_msg_find_option(continued, COAP_OPT_BLOCK1, NULL);
    CX_EXPECT(cx, echo != NULL, "the 2.31 Continue carries no Block1 option");
    CX_EXPECT_INT(cx, coap_option_uint(echo), 0 << 4 | 8 | 6,
                  "Block1 of the 2.31 Continue (0, more, 1024)");
    len = encode_block1(cx, 0x4102, 1, false, buf, sizeof buf);
    CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&other, (void *)&client, buf, len), 0,
                  "errno of block 1 from another port");
    CX_EXPECT_INT(cx, peer_answer_code(cx, &other, 0x4102), COAP_REQUEST_ENTITY_INCOMPLETE,
                  "answer to a block from another key");
    CX_EXPECT_INT(cx, iut_served_count(ep), 0, "requests served for an incomplete body");
    len = encode_block1(cx, 0x4103, 1, false, buf, sizeof buf);
    CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&peer, (void *)&client, buf, len), 0,
                  "errno of block 1");
    CX_EXPECT_INT(cx, peer_answer_code(cx, &peer, 0x4103), COAP_CHANGED,
                  "answer to the last block");
    CX_EXPECT(cx, cell_wait_served(cx, ep, 1), "the whole body was never served");
    CX_EXPECT_INT(cx, iut_served_count(ep), 1, "requests served for the whole body");
    CX_EXPECT_INT(cx, iut_served(ep, 0)->payload_len, 2048, "bytes of the body served");
}

/* B4: SZX 7 is reserved (RFC 7959 §2.2): a request whose Block1 carries it MUST get 4.00 Bad
 * Request, not a 2.31 Continue for a block of 2048 bytes, and reaches no handler. */
static void reserved_block_size(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    struct sockaddr_storage client, peer;
    client_seen_by_peer(cx, &client, &peer);
    uint8_t buf[1200];
    size_t len = encode_block1_szx(cx, 0x4201, 0, true, 7, buf, sizeof buf);
    CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&peer, (void *)&client, buf, len), 0,
                  "errno of the block with SZX 7");
    CX_EXPECT_INT(cx, peer_answer_code(cx, &peer, 0x4201), COAP_BAD_REQUEST,
                  "answer to a Block1 with the reserved SZX 7");
    CX_EXPECT_INT(cx, iut_served_count(ep), 0, "requests served for a reserved block size");
}

const struct scenario scenario_b1 = {
    .id = "B1-blockwise",
    .title = "Block2 GET of 10 KiB and Block1 PUT of 2 KiB, block by block, one source port",
    .kinds = KINDS("v4", "v6", "dual.test"),
    .traffic = true,
    .run = blockwise_transfers,
};
const struct scenario scenario_b5 = {
    .id = "B5-server-block-size",
    .title = "a server's smaller Block2 size is followed to the end of the body",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = server_block_size,
};
static const char *unless_strangers_served_on_client(const struct iut_info *iut)
{
    const char *why = unless_accepts_strangers(iut);
    return why != NULL ? why : unless_serves_on_client(iut);
}

const struct scenario scenario_b2 = {
    .id = "B2-key-change",
    .title = "a Block1 block from another key mid-transfer gets 4.08",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = key_change_incomplete,
    .not_applicable = unless_strangers_served_on_client,
};
const struct scenario scenario_b4 = {
    .id = "B4-reserved-szx",
    .title = "a Block1 with the reserved SZX 7 gets 4.00 Bad Request",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = reserved_block_size,
    .not_applicable = unless_serves_on_client,
};
