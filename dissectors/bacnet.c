/*
 * BACnet/IP (ASHRAE 135 Annex J, UDP 47808), built as a plugin through the
 * public ABI only.
 *
 * A datagram is one BVLL message:
 *   BVLC   0x81 · function · length (2, the whole datagram)
 *          Original-Unicast/Broadcast-NPDU (0x0A/0x0B): an NPDU follows;
 *          Forwarded-NPDU (0x04): the originator's B/IP address (IPv4 and
 *          port, 6 bytes), then the NPDU; the BBMD functions (Write/Read-
 *          BDT, Register-Foreign-Device, Read-FDT, Delete-FDT-Entry,
 *          Distribute-Broadcast-To-Network) are answered by a BVLC-Result
 *          or an ACK.
 *   NPDU   version 1 · control · [DNET (2) DLEN DADR] · [SNET (2) SLEN SADR]
 *          · [hop count, with DNET] · network message (control bit 7) or
 *          an APDU.  DNET/DADR name a device behind a router, SNET/SADR
 *          the remote originator a router relays for.
 *   APDU   the PDU type in the high nibble of the first byte:
 *          0 Confirmed-Request  1 Unconfirmed-Request  2 SimpleACK
 *          3 ComplexACK  4 SegmentACK  5 Error  6 Reject  7 Abort.
 *
 * Who asks.  Both ends of a B/IP flow usually use port 47808, and a device
 * is a client of other devices too: a message is a request or an answer
 * by its PDU type, never by the engine's direction (see docs/PLUGINS.md,
 * Part 2).  Both parse slots run the same function.
 *
 * Pairing (scope FLOW, the two B/IP addresses IP:port): the key is the
 * invoke id, the side that asked (the flow direction the request went),
 * and hashes of the two routed addresses (the request's DNET/DADR and
 * SNET/SADR, the answer's SNET/SADR and DNET/DADR): two devices behind one
 * router with the same invoke id in flight never meet.  An Error, a
 * SimpleACK or a ComplexACK must also carry the request's service choice.
 * A client's retry (same invoke id, same bytes, while the first is
 * unanswered) is the same request: it opens nothing and counts as
 * duplicate_request, so that a device that is gone gives ONE "10 No
 * Response", request_timeout_ms (10 s, more than the standard's 3 retries
 * of 3 s) after the first transmission.  A ring per flow remembers recent
 * requests (RECENT_MAX), so that a retry sent after that record is still
 * no new request; one the ring forgot is found among the open requests by
 * its bytes.  A client whose retries outlast 10 s gets its one record
 * before its last try: --request-timeout bacnet=MS.  Unconfirmed services
 * (Who-Is, I-Am, COV notifications) open nothing.
 *
 * Segmentation.  A segmented Confirmed-Request or ComplexACK is
 * reassembled per flow (CONFIRMED request: by the requester's side and
 * invoke id), in order, up to SEG_MAX_BYTES and SEG_SLOTS messages per
 * flow, and SEG_BUDGET_BYTES held by all flows together (an atomic
 * counter: spoofed datagrams cost nothing to send, 262,144 flows times
 * 256 KiB would not fit anywhere): beyond that, or out of order, the
 * reassembly is dropped and counted (segment_dropped); a retransmitted
 * segment is ignored.  The
 * request is opened at its first segment (the device may refuse it with an
 * Abort right there, and the object and property are in the first segment
 * always: a segment carries at least 50 bytes); an answer to a request
 * whose segments were all seen names their count and size in the record.
 *
 * Errors reported, one record per PDU (vendor code, hex, as rules/bacnet.map
 * spells it; the first byte is the PDU type, so the three never collide):
 *   Error PDU          "05" class (2 bytes) code (2 bytes): "050001001F"
 *                      = object / unknown-object
 *   Reject PDU         "06" reason (1 byte): "0609" unrecognized-service
 *   Abort PDU          "07" reason (1 byte): "0704" segmentation-not-supported
 * A BVLC-Result NAK (a BBMD function refused) is counted, not reported
 * (on_bvlc_result says why).
 * An Abort sent by the client (SRV bit 0) aborts its own request: it ends
 * that request and is reported unpaired (it answers nothing: the engine
 * adds "Request":"not seen in the capture"), with "Abort Sent By":"client"
 * and "Aborted":"the client's own request"; the Responder is the client.
 *
 * BACnet/IPv6 (Annex U, BVLC type 0x82, the same port) is not dissected:
 * its datagrams are counted (bacnet_ipv6_not_dissected), nothing more.
 *
 * Unique IDs: IP#device-instance of the responder once an I-Am from that
 * B/IP address (and routed address) has named its instance; before that
 * the BACnet address: "IP:port" (one host may run several B/IP devices on
 * several ports), plus "#net:mac" behind a router.  I-Ams arrive on other
 * flows than the requests (often broadcast), so the instances live in one
 * table for the whole plugin, bounded (DEV_MAX, then device_table_full).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x1367ids/dissector.h>

#define BAC_PORT 47808
#define BVLC_TYPE_BIP 0x81
#define BVLC_TYPE_BIP6 0x82    /* BACnet/IPv6 (Annex U): not dissected */
#define BVLC_HDR 4
#define NPDU_VERSION 1

enum bvlc_function {
	BVLC_RESULT = 0x00,
	BVLC_WRITE_BDT = 0x01,
	BVLC_READ_BDT = 0x02,
	BVLC_READ_BDT_ACK = 0x03,
	BVLC_FORWARDED_NPDU = 0x04,
	BVLC_REGISTER_FD = 0x05,
	BVLC_READ_FDT = 0x06,
	BVLC_READ_FDT_ACK = 0x07,
	BVLC_DELETE_FDT_ENTRY = 0x08,
	BVLC_DISTRIBUTE_BROADCAST = 0x09,
	BVLC_ORIGINAL_UNICAST = 0x0A,
	BVLC_ORIGINAL_BROADCAST = 0x0B,
	BVLC_SECURE_BVLL = 0x0C,
};

enum pdu_type {
	PDU_CONFIRMED = 0,
	PDU_UNCONFIRMED = 1,
	PDU_SIMPLE_ACK = 2,
	PDU_COMPLEX_ACK = 3,
	PDU_SEGMENT_ACK = 4,
	PDU_ERROR = 5,
	PDU_REJECT = 6,
	PDU_ABORT = 7,
};

#define NPDU_NETWORK_MSG 0x80
#define NPDU_DNET 0x20
#define NPDU_SNET 0x08
#define APDU_SEG 0x08          /* segmented message */
#define APDU_MOR 0x04          /* more follows */
#define ABORT_SRV 0x01         /* sent by the server */

#define SVC_I_AM 0
#define MAC_MAX 8              /* longest routed MAC kept (B/IP: 6) */

#define SEG_SLOTS 4            /* segmented messages in progress per flow */
#define SEG_MAX_BYTES 65536    /* one reassembled message */
#define SEG_BUDGET_BYTES (16u << 20) /* ... all messages of the sensor */
#define RECENT_MAX 32          /* requests remembered per flow (retries) */
#define DEV_MAX 1024           /* devices named by an I-Am */

#define EV_BAD_BVLC "bad_bvlc"
#define EV_NETWORK_MESSAGE "network_layer_message"
#define EV_SEGMENT_DROPPED "segment_dropped"
#define EV_SEGMENTS_REASSEMBLED "segmented_message_reassembled"
#define EV_DEVICE_TABLE_FULL "device_table_full"
#define EV_SECURE_BVLL "secure_bvll"
#define EV_I_AM "i_am"
#define EV_BVLC_NAK "bvlc_nak"
#define EV_BIP6 "bacnet_ipv6_not_dissected"

static const struct x1367_engine_api *api;

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- names (ASHRAE 135, Clause 21) ------------------------------------ */

struct name {
	uint32_t code;
	const char *name;
};

/* Spelled as the standard's ASN.1 enumerations spell them (BACnetErrorCode,
 * BACnetObjectType, BACnetPropertyIdentifier ...; services as in
 * BACnetConfirmedServiceChoice).  The codes later revisions removed (error
 * codes 1, 6, 12, 15, 28; services 13, 24, 25) are kept: old devices still
 * send them.  A value not in its table (a vendor's: error codes from 256,
 * classes from 64, object types from 128, properties from 512) shows as
 * "unknown (N)". */

static const struct name error_classes[] = {
	{0, "device"}, {1, "object"}, {2, "property"}, {3, "resources"}, {4, "security"},
	{5, "services"}, {6, "vt"}, {7, "communication"},
};
static const struct name error_codes[] = {
	{0, "other"}, {1, "authentication-failed"}, {2, "configuration-in-progress"},
	{3, "device-busy"}, {4, "dynamic-creation-not-supported"}, {5, "file-access-denied"},
	{6, "incompatible-security-levels"}, {7, "inconsistent-parameters"},
	{8, "inconsistent-selection-criterion"}, {9, "invalid-data-type"},
	{10, "invalid-file-access-method"}, {11, "invalid-file-start-position"},
	{12, "invalid-operator-name"}, {13, "invalid-parameter-data-type"}, {14, "invalid-time-stamp"},
	{15, "key-generation-error"}, {16, "missing-required-parameter"},
	{17, "no-objects-of-specified-type"}, {18, "no-space-for-object"},
	{19, "no-space-to-add-list-element"}, {20, "no-space-to-write-property"},
	{21, "no-vt-sessions-available"}, {22, "property-is-not-a-list"},
	{23, "object-deletion-not-permitted"}, {24, "object-identifier-already-exists"},
	{25, "operational-problem"}, {26, "password-failure"}, {27, "read-access-denied"},
	{28, "security-not-supported"}, {29, "service-request-denied"}, {30, "timeout"},
	{31, "unknown-object"}, {32, "unknown-property"}, {34, "unknown-vt-class"},
	{35, "unknown-vt-session"}, {36, "unsupported-object-type"}, {37, "value-out-of-range"},
	{38, "vt-session-already-closed"}, {39, "vt-session-termination-failure"},
	{40, "write-access-denied"}, {41, "character-set-not-supported"}, {42, "invalid-array-index"},
	{43, "cov-subscription-failed"}, {44, "not-cov-property"},
	{45, "optional-functionality-not-supported"}, {46, "invalid-configuration-data"},
	{47, "datatype-not-supported"}, {48, "duplicate-name"}, {49, "duplicate-object-id"},
	{50, "property-is-not-an-array"}, {51, "abort-buffer-overflow"},
	{52, "abort-invalid-apdu-in-this-state"}, {53, "abort-preempted-by-higher-priority-task"},
	{54, "abort-segmentation-not-supported"}, {55, "abort-proprietary"}, {56, "abort-other"},
	{57, "invalid-tag"}, {58, "network-down"}, {59, "reject-buffer-overflow"},
	{60, "reject-inconsistent-parameters"}, {61, "reject-invalid-parameter-data-type"},
	{62, "reject-invalid-tag"}, {63, "reject-missing-required-parameter"},
	{64, "reject-parameter-out-of-range"}, {65, "reject-too-many-arguments"},
	{66, "reject-undefined-enumeration"}, {67, "reject-unrecognized-service"},
	{68, "reject-proprietary"}, {69, "reject-other"}, {70, "unknown-device"},
	{71, "unknown-route"}, {72, "value-not-initialized"}, {73, "invalid-event-state"},
	{74, "no-alarm-configured"}, {75, "log-buffer-full"}, {76, "logged-value-purged"},
	{77, "no-property-specified"}, {78, "not-configured-for-triggered-logging"},
	{79, "unknown-subscription"}, {80, "parameter-out-of-range"}, {81, "list-element-not-found"},
	{82, "busy"}, {83, "communication-disabled"}, {84, "success"}, {85, "access-denied"},
	{86, "bad-destination-address"}, {87, "bad-destination-device-id"}, {88, "bad-signature"},
	{89, "bad-source-address"}, {90, "bad-timestamp"}, {91, "cannot-use-key"},
	{92, "cannot-verify-message-id"}, {93, "correct-key-revision"},
	{94, "destination-device-id-required"}, {95, "duplicate-message"},
	{96, "encryption-not-configured"}, {97, "encryption-required"}, {98, "incorrect-key"},
	{99, "invalid-key-data"}, {100, "key-update-in-progress"}, {101, "malformed-message"},
	{102, "not-key-server"}, {103, "security-not-configured"}, {104, "source-security-required"},
	{105, "too-many-keys"}, {106, "unknown-authentication-type"}, {107, "unknown-key"},
	{108, "unknown-key-revision"}, {109, "unknown-source-message"}, {110, "not-router-to-dnet"},
	{111, "router-busy"}, {112, "unknown-network-message"}, {113, "message-too-long"},
	{114, "security-error"}, {115, "addressing-error"}, {116, "write-bdt-failed"},
	{117, "read-bdt-failed"}, {118, "register-foreign-device-failed"}, {119, "read-fdt-failed"},
	{120, "delete-fdt-entry-failed"}, {121, "distribute-broadcast-failed"},
	{122, "unknown-file-size"}, {123, "abort-apdu-too-long"},
	{124, "abort-application-exceeded-reply-time"}, {125, "abort-out-of-resources"},
	{126, "abort-tsm-timeout"}, {127, "abort-window-size-out-of-range"}, {128, "file-full"},
	{129, "inconsistent-configuration"}, {130, "inconsistent-object-type"},
	{131, "internal-error"}, {132, "not-configured"}, {133, "out-of-memory"},
	{134, "value-too-long"}, {135, "abort-insufficient-security"}, {136, "abort-security-error"},
	{137, "duplicate-entry"}, {138, "invalid-value-in-this-state"},
	{139, "invalid-operation-in-this-state"}, {140, "list-item-not-numbered"},
	{141, "list-item-not-timestamped"}, {142, "invalid-data-encoding"},
	{143, "bvlc-function-unknown"}, {144, "bvlc-proprietary-function-unknown"},
	{145, "header-encoding-error"}, {146, "header-not-understood"}, {147, "message-incomplete"},
	{148, "not-a-bacnet-sc-hub"}, {149, "payload-expected"}, {150, "unexpected-data"},
	{151, "node-duplicate-vmac"}, {152, "http-unexpected-response-code"},
	{153, "http-no-upgrade"}, {154, "http-resource-not-local"},
	{155, "http-proxy-authentication-failed"}, {156, "http-response-timeout"},
	{157, "http-response-syntax-error"}, {158, "http-response-value-error"},
	{159, "http-response-missing-header"}, {160, "http-websocket-header-error"},
	{161, "http-upgrade-required"}, {162, "http-upgrade-error"},
	{163, "http-temporary-unavailable"}, {164, "http-not-a-server"}, {165, "http-error"},
	{166, "websocket-scheme-not-supported"}, {167, "websocket-unknown-control-message"},
	{168, "websocket-close-error"}, {169, "websocket-closed-by-peer"},
	{170, "websocket-endpoint-leaves"}, {171, "websocket-protocol-error"},
	{172, "websocket-data-not-accepted"}, {173, "websocket-closed-abnormally"},
	{174, "websocket-data-inconsistent"}, {175, "websocket-data-against-policy"},
	{176, "websocket-frame-too-long"}, {177, "websocket-extension-missing"},
	{178, "websocket-request-unavailable"}, {179, "websocket-error"},
	{180, "tls-client-certificate-error"}, {181, "tls-server-certificate-error"},
	{182, "tls-client-authentication-failed"}, {183, "tls-server-authentication-failed"},
	{184, "tls-client-certificate-expired"}, {185, "tls-server-certificate-expired"},
	{186, "tls-client-certificate-revoked"}, {187, "tls-server-certificate-revoked"},
	{188, "tls-error"}, {189, "dns-unavailable"}, {190, "dns-name-resolution-failed"},
	{191, "dns-resolver-failure"}, {192, "dns-error"}, {193, "tcp-connect-timeout"},
	{194, "tcp-connection-refused"}, {195, "tcp-closed-by-local"}, {196, "tcp-closed-other"},
	{197, "tcp-error"}, {198, "ip-address-not-reachable"}, {199, "ip-error"},
};
static const struct name reject_reasons[] = {
	{0, "other"}, {1, "buffer-overflow"}, {2, "inconsistent-parameters"},
	{3, "invalid-parameter-data-type"}, {4, "invalid-tag"}, {5, "missing-required-parameter"},
	{6, "parameter-out-of-range"}, {7, "too-many-arguments"}, {8, "undefined-enumeration"},
	{9, "unrecognized-service"},
};
static const struct name abort_reasons[] = {
	{0, "other"}, {1, "buffer-overflow"}, {2, "invalid-apdu-in-this-state"},
	{3, "preempted-by-higher-priority-task"}, {4, "segmentation-not-supported"},
	{5, "security-error"}, {6, "insufficient-security"}, {7, "window-size-out-of-range"},
	{8, "application-exceeded-reply-time"}, {9, "out-of-resources"}, {10, "tsm-timeout"},
	{11, "apdu-too-long"},
};
static const struct name confirmed_services[] = {
	{0, "acknowledgeAlarm"}, {1, "confirmedCOVNotification"},
	{2, "confirmedEventNotification"}, {3, "getAlarmSummary"}, {4, "getEnrollmentSummary"},
	{5, "subscribeCOV"}, {6, "atomicReadFile"}, {7, "atomicWriteFile"},
	{8, "addListElement"}, {9, "removeListElement"}, {10, "createObject"},
	{11, "deleteObject"}, {12, "readProperty"}, {13, "readPropertyConditional"},
	{14, "readPropertyMultiple"}, {15, "writeProperty"}, {16, "writePropertyMultiple"},
	{17, "deviceCommunicationControl"}, {18, "confirmedPrivateTransfer"},
	{19, "confirmedTextMessage"}, {20, "reinitializeDevice"}, {21, "vt-Open"},
	{22, "vt-Close"}, {23, "vt-Data"}, {24, "authenticate"}, {25, "requestKey"},
	{26, "readRange"}, {27, "lifeSafetyOperation"}, {28, "subscribeCOVProperty"},
	{29, "getEventInformation"}, {30, "subscribeCOVPropertyMultiple"},
	{31, "confirmedCOVNotificationMultiple"}, {32, "auditLogQuery"},
};
static const struct name object_types[] = {
	{0, "analog-input"}, {1, "analog-output"}, {2, "analog-value"}, {3, "binary-input"},
	{4, "binary-output"}, {5, "binary-value"}, {6, "calendar"}, {7, "command"}, {8, "device"},
	{9, "event-enrollment"}, {10, "file"}, {11, "group"}, {12, "loop"}, {13, "multi-state-input"},
	{14, "multi-state-output"}, {15, "notification-class"}, {16, "program"}, {17, "schedule"},
	{18, "averaging"}, {19, "multi-state-value"}, {20, "trend-log"}, {21, "life-safety-point"},
	{22, "life-safety-zone"}, {23, "accumulator"}, {24, "pulse-converter"}, {25, "event-log"},
	{26, "global-group"}, {27, "trend-log-multiple"}, {28, "load-control"},
	{29, "structured-view"}, {30, "access-door"}, {31, "timer"}, {32, "access-credential"},
	{33, "access-point"}, {34, "access-rights"}, {35, "access-user"}, {36, "access-zone"},
	{37, "credential-data-input"}, {38, "network-security"}, {39, "bitstring-value"},
	{40, "characterstring-value"}, {41, "datepattern-value"}, {42, "date-value"},
	{43, "datetimepattern-value"}, {44, "datetime-value"}, {45, "integer-value"},
	{46, "large-analog-value"}, {47, "octetstring-value"}, {48, "positive-integer-value"},
	{49, "timepattern-value"}, {50, "time-value"}, {51, "notification-forwarder"},
	{52, "alert-enrollment"}, {53, "channel"}, {54, "lighting-output"},
	{55, "binary-lighting-output"}, {56, "network-port"}, {57, "elevator-group"},
	{58, "escalator"}, {59, "lift"}, {60, "staging"}, {61, "audit-log"}, {62, "audit-reporter"}, {63, "color"},
	{64, "color-temperature"},
};
static const struct name properties[] = {
	{0, "acked-transitions"}, {1, "ack-required"}, {2, "action"}, {3, "action-text"},
	{4, "active-text"}, {5, "active-vt-sessions"}, {6, "alarm-value"}, {7, "alarm-values"},
	{8, "all"}, {9, "all-writes-successful"}, {10, "apdu-segment-timeout"}, {11, "apdu-timeout"},
	{12, "application-software-version"}, {13, "archive"}, {14, "bias"},
	{15, "change-of-state-count"}, {16, "change-of-state-time"}, {17, "notification-class"},
	{19, "controlled-variable-reference"}, {20, "controlled-variable-units"},
	{21, "controlled-variable-value"}, {22, "cov-increment"}, {23, "date-list"},
	{24, "daylight-savings-status"}, {25, "deadband"}, {26, "derivative-constant"},
	{27, "derivative-constant-units"}, {28, "description"}, {29, "description-of-halt"},
	{30, "device-address-binding"}, {31, "device-type"}, {32, "effective-period"},
	{33, "elapsed-active-time"}, {34, "error-limit"}, {35, "event-enable"}, {36, "event-state"},
	{37, "event-type"}, {38, "exception-schedule"}, {39, "fault-values"}, {40, "feedback-value"},
	{41, "file-access-method"}, {42, "file-size"}, {43, "file-type"}, {44, "firmware-revision"},
	{45, "high-limit"}, {46, "inactive-text"}, {47, "in-process"}, {48, "instance-of"},
	{49, "integral-constant"}, {50, "integral-constant-units"}, {52, "limit-enable"},
	{53, "list-of-group-members"}, {54, "list-of-object-property-references"}, {56, "local-date"},
	{57, "local-time"}, {58, "location"}, {59, "low-limit"},
	{60, "manipulated-variable-reference"}, {61, "maximum-output"},
	{62, "max-apdu-length-accepted"}, {63, "max-info-frames"}, {64, "max-master"},
	{65, "max-pres-value"}, {66, "minimum-off-time"}, {67, "minimum-on-time"},
	{68, "minimum-output"}, {69, "min-pres-value"}, {70, "model-name"}, {71, "modification-date"},
	{72, "notify-type"}, {73, "number-of-apdu-retries"}, {74, "number-of-states"},
	{75, "object-identifier"}, {76, "object-list"}, {77, "object-name"},
	{78, "object-property-reference"}, {79, "object-type"}, {80, "optional"},
	{81, "out-of-service"}, {82, "output-units"}, {83, "event-parameters"}, {84, "polarity"},
	{85, "present-value"}, {86, "priority"}, {87, "priority-array"}, {88, "priority-for-writing"},
	{89, "process-identifier"}, {90, "program-change"}, {91, "program-location"},
	{92, "program-state"}, {93, "proportional-constant"}, {94, "proportional-constant-units"},
	{96, "protocol-object-types-supported"}, {97, "protocol-services-supported"},
	{98, "protocol-version"}, {99, "read-only"}, {100, "reason-for-halt"},
	{102, "recipient-list"}, {103, "reliability"}, {104, "relinquish-default"}, {105, "required"},
	{106, "resolution"}, {107, "segmentation-supported"}, {108, "setpoint"},
	{109, "setpoint-reference"}, {110, "state-text"}, {111, "status-flags"},
	{112, "system-status"}, {113, "time-delay"}, {114, "time-of-active-time-reset"},
	{115, "time-of-state-count-reset"}, {116, "time-synchronization-recipients"}, {117, "units"},
	{118, "update-interval"}, {119, "utc-offset"}, {120, "vendor-identifier"},
	{121, "vendor-name"}, {122, "vt-classes-supported"}, {123, "weekly-schedule"},
	{124, "attempted-samples"}, {125, "average-value"}, {126, "buffer-size"},
	{127, "client-cov-increment"}, {128, "cov-resubscription-interval"},
	{130, "event-time-stamps"}, {131, "log-buffer"}, {132, "log-device-object-property"},
	{133, "enable"}, {134, "log-interval"}, {135, "maximum-value"}, {136, "minimum-value"},
	{137, "notification-threshold"}, {139, "protocol-revision"},
	{140, "records-since-notification"}, {141, "record-count"}, {142, "start-time"},
	{143, "stop-time"}, {144, "stop-when-full"}, {145, "total-record-count"},
	{146, "valid-samples"}, {147, "window-interval"}, {148, "window-samples"},
	{149, "maximum-value-timestamp"}, {150, "minimum-value-timestamp"}, {151, "variance-value"},
	{152, "active-cov-subscriptions"}, {153, "backup-failure-timeout"},
	{154, "configuration-files"}, {155, "database-revision"}, {156, "direct-reading"},
	{157, "last-restore-time"}, {158, "maintenance-required"}, {159, "member-of"}, {160, "mode"},
	{161, "operation-expected"}, {162, "setting"}, {163, "silenced"}, {164, "tracking-value"},
	{165, "zone-members"}, {166, "life-safety-alarm-values"}, {167, "max-segments-accepted"},
	{168, "profile-name"}, {169, "auto-slave-discovery"}, {170, "manual-slave-address-binding"},
	{171, "slave-address-binding"}, {172, "slave-proxy-enable"}, {173, "last-notify-record"},
	{174, "schedule-default"}, {175, "accepted-modes"}, {176, "adjust-value"}, {177, "count"},
	{178, "count-before-change"}, {179, "count-change-time"}, {180, "cov-period"},
	{181, "input-reference"}, {182, "limit-monitoring-interval"}, {183, "logging-object"},
	{184, "logging-record"}, {185, "prescale"}, {186, "pulse-rate"}, {187, "scale"},
	{188, "scale-factor"}, {189, "update-time"}, {190, "value-before-change"}, {191, "value-set"},
	{192, "value-change-time"}, {193, "align-intervals"}, {195, "interval-offset"},
	{196, "last-restart-reason"}, {197, "logging-type"}, {202, "restart-notification-recipients"},
	{203, "time-of-device-restart"}, {204, "time-synchronization-interval"}, {205, "trigger"},
	{206, "utc-time-synchronization-recipients"}, {207, "node-subtype"}, {208, "node-type"},
	{209, "structured-object-list"}, {210, "subordinate-annotations"}, {211, "subordinate-list"},
	{212, "actual-shed-level"}, {213, "duty-window"}, {214, "expected-shed-level"},
	{215, "full-duty-baseline"}, {218, "requested-shed-level"}, {219, "shed-duration"},
	{220, "shed-level-descriptions"}, {221, "shed-levels"}, {222, "state-description"},
	{226, "door-alarm-state"}, {227, "door-extended-pulse-time"}, {228, "door-members"},
	{229, "door-open-too-long-time"}, {230, "door-pulse-time"}, {231, "door-status"},
	{232, "door-unlock-delay-time"}, {233, "lock-status"}, {234, "masked-alarm-values"},
	{235, "secured-status"}, {244, "absentee-limit"}, {245, "access-alarm-events"},
	{246, "access-doors"}, {247, "access-event"}, {248, "access-event-authentication-factor"},
	{249, "access-event-credential"}, {250, "access-event-time"},
	{251, "access-transaction-events"}, {252, "accompaniment"}, {253, "accompaniment-time"},
	{254, "activation-time"}, {255, "active-authentication-policy"},
	{256, "assigned-access-rights"}, {257, "authentication-factors"},
	{258, "authentication-policy-list"}, {259, "authentication-policy-names"},
	{260, "authentication-status"}, {261, "authorization-mode"}, {262, "belongs-to"},
	{263, "credential-disable"}, {264, "credential-status"}, {265, "credentials"},
	{266, "credentials-in-zone"}, {267, "days-remaining"}, {268, "entry-points"},
	{269, "exit-points"}, {270, "expiration-time"}, {271, "extended-time-enable"},
	{272, "failed-attempt-events"}, {273, "failed-attempts"}, {274, "failed-attempts-time"},
	{275, "last-access-event"}, {276, "last-access-point"}, {277, "last-credential-added"},
	{278, "last-credential-added-time"}, {279, "last-credential-removed"},
	{280, "last-credential-removed-time"}, {281, "last-use-time"}, {282, "lockout"},
	{283, "lockout-relinquish-time"}, {285, "max-failed-attempts"}, {286, "members"},
	{287, "muster-point"}, {288, "negative-access-rules"},
	{289, "number-of-authentication-policies"}, {290, "occupancy-count"},
	{291, "occupancy-count-adjust"}, {292, "occupancy-count-enable"},
	{294, "occupancy-lower-limit"}, {295, "occupancy-lower-limit-enforced"},
	{296, "occupancy-state"}, {297, "occupancy-upper-limit"},
	{298, "occupancy-upper-limit-enforced"}, {300, "passback-mode"}, {301, "passback-timeout"},
	{302, "positive-access-rules"}, {303, "reason-for-disable"}, {304, "supported-formats"},
	{305, "supported-format-classes"}, {306, "threat-authority"}, {307, "threat-level"},
	{308, "trace-flag"}, {309, "transaction-notification-class"},
	{310, "user-external-identifier"}, {311, "user-information-reference"}, {317, "user-name"},
	{318, "user-type"}, {319, "uses-remaining"}, {320, "zone-from"}, {321, "zone-to"},
	{322, "access-event-tag"}, {323, "global-identifier"}, {326, "verification-time"},
	{328, "distribution-key-revision"}, {329, "do-not-hide"}, {330, "key-sets"},
	{331, "last-key-server"}, {332, "network-access-security-policies"},
	{333, "packet-reorder-time"}, {334, "security-pdu-timeout"}, {335, "security-time-window"},
	{336, "supported-security-algorithms"}, {337, "update-key-set-timeout"},
	{338, "backup-and-restore-state"}, {339, "backup-preparation-time"},
	{340, "restore-completion-time"}, {341, "restore-preparation-time"}, {342, "bit-mask"},
	{343, "bit-text"}, {344, "is-utc"}, {345, "group-members"}, {346, "group-member-names"},
	{347, "member-status-flags"}, {348, "requested-update-interval"}, {349, "covu-period"},
	{350, "covu-recipients"}, {351, "event-message-texts"}, {352, "event-message-texts-config"},
	{353, "event-detection-enable"}, {354, "event-algorithm-inhibit"},
	{355, "event-algorithm-inhibit-ref"}, {356, "time-delay-normal"},
	{357, "reliability-evaluation-inhibit"}, {358, "fault-parameters"}, {359, "fault-type"},
	{360, "local-forwarding-only"}, {361, "process-identifier-filter"},
	{362, "subscribed-recipients"}, {363, "port-filter"}, {364, "authorization-exemptions"},
	{365, "allow-group-delay-inhibit"}, {366, "channel-number"}, {367, "control-groups"},
	{368, "execution-delay"}, {369, "last-priority"}, {370, "write-status"},
	{371, "property-list"}, {372, "serial-number"}, {373, "blink-warn-enable"},
	{374, "default-fade-time"}, {375, "default-ramp-rate"}, {376, "default-step-increment"},
	{377, "egress-time"}, {378, "in-progress"}, {379, "instantaneous-power"},
	{380, "lighting-command"}, {381, "lighting-command-default-priority"},
	{382, "max-actual-value"}, {383, "min-actual-value"}, {384, "power"}, {385, "transition"},
	{386, "egress-active"}, {387, "interface-value"}, {388, "fault-high-limit"},
	{389, "fault-low-limit"}, {390, "low-diff-limit"}, {391, "strike-count"},
	{392, "time-of-strike-count-reset"}, {393, "default-timeout"}, {394, "initial-timeout"},
	{395, "last-state-change"}, {396, "state-change-values"}, {397, "timer-running"},
	{398, "timer-state"}, {399, "apdu-length"}, {400, "ip-address"}, {401, "ip-default-gateway"},
	{402, "ip-dhcp-enable"}, {403, "ip-dhcp-lease-time"}, {404, "ip-dhcp-lease-time-remaining"},
	{405, "ip-dhcp-server"}, {406, "ip-dns-server"}, {407, "bacnet-ip-global-address"},
	{408, "bacnet-ip-mode"}, {409, "bacnet-ip-multicast-address"},
	{410, "bacnet-ip-nat-traversal"}, {411, "ip-subnet-mask"}, {412, "bacnet-ip-udp-port"},
	{413, "bbmd-accept-fd-registrations"}, {414, "bbmd-broadcast-distribution-table"},
	{415, "bbmd-foreign-device-table"}, {416, "changes-pending"}, {417, "command"},
	{418, "fd-bbmd-address"}, {419, "fd-subscription-lifetime"}, {420, "link-speed"},
	{421, "link-speeds"}, {422, "link-speed-autonegotiate"}, {423, "mac-address"},
	{424, "network-interface-name"}, {425, "network-number"}, {426, "network-number-quality"},
	{427, "network-type"}, {428, "routing-table"}, {429, "virtual-mac-address-table"},
	{430, "command-time-array"}, {431, "current-command-priority"}, {432, "last-command-time"},
	{433, "value-source"}, {434, "value-source-array"}, {435, "bacnet-ipv6-mode"},
	{436, "ipv6-address"}, {437, "ipv6-prefix-length"}, {438, "bacnet-ipv6-udp-port"},
	{439, "ipv6-default-gateway"}, {440, "bacnet-ipv6-multicast-address"},
	{441, "ipv6-dns-server"}, {442, "ipv6-auto-addressing-enable"}, {443, "ipv6-dhcp-lease-time"},
	{444, "ipv6-dhcp-lease-time-remaining"}, {445, "ipv6-dhcp-server"}, {446, "ipv6-zone-index"},
	{447, "assigned-landing-calls"}, {448, "car-assigned-direction"}, {449, "car-door-command"},
	{450, "car-door-status"}, {451, "car-door-text"}, {452, "car-door-zone"},
	{453, "car-drive-status"}, {454, "car-load"}, {455, "car-load-units"}, {456, "car-mode"},
	{457, "car-moving-direction"}, {458, "car-position"}, {459, "elevator-group"},
	{460, "energy-meter"}, {461, "energy-meter-ref"}, {462, "escalator-mode"},
	{463, "fault-signals"}, {464, "floor-text"}, {465, "group-id"}, {467, "group-mode"},
	{468, "higher-deck"}, {469, "installation-id"}, {470, "landing-calls"},
	{471, "landing-call-control"}, {472, "landing-door-status"}, {473, "lower-deck"},
	{474, "machine-room-id"}, {475, "making-car-call"}, {476, "next-stopping-floor"},
	{477, "operation-direction"}, {478, "passenger-alarm"}, {479, "power-mode"},
	{480, "registered-car-call"}, {481, "active-cov-multiple-subscriptions"},
	{482, "protocol-level"}, {483, "reference-port"}, {484, "deployed-profile-location"},
	{485, "profile-location"}, {486, "tags"}, {487, "subordinate-node-types"},
	{488, "subordinate-tags"}, {489, "subordinate-relationships"},
	{490, "default-subordinate-relationship"}, {491, "represents"},
};

static const char *name_of(const struct name *t, size_t n, uint32_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

#define NAME(table, code) name_of(table, N_ELEMS(table), code)

/* "name (code)", or "proprietary (code)" past the standard's range. */
static void desc_named(struct x1367_desc *d, const char *key, const char *name, uint32_t code)
{
	x1367_desc_add(d, key, "%s (%u)", name ? name : "unknown", (unsigned)code);
}

/* ---- a datagram: BVLC, NPDU, APDU ------------------------------------- */

/* A routed address of the NPDU: DNET/DADR or SNET/SADR. */
struct route {
	uint8_t present;
	uint16_t net;
	uint8_t len;                   /* 0: broadcast on net (DADR only) */
	const uint8_t *mac;
};

struct bac_msg {
	uint8_t function;              /* BVLC function */
	uint8_t forwarded;             /* Forwarded-NPDU: orig_* are valid */
	uint8_t orig_ip[4];
	uint16_t orig_port;
	uint16_t bvlc_result;          /* BVLC-Result */
	uint8_t has_npdu;
	uint8_t control;
	struct route dst, src;
	const uint8_t *apdu;           /* NULL: a network layer message */
	size_t apdu_len;
};

struct apdu {
	uint8_t type;                  /* enum pdu_type */
	uint8_t flags;                 /* low nibble of the first byte */
	uint8_t invoke;
	uint8_t seq, window;           /* segmented messages */
	uint8_t service;               /* not in SegmentACK, Reject, Abort */
	uint8_t reason;                /* Reject, Abort */
	const uint8_t *data;           /* service parameters */
	size_t data_len;
};

static int read_route(struct x1367_reader *rd, struct route *r, int is_source)
{
	r->present = 1;
	r->net = x1367_rd_be16(rd);
	r->len = x1367_rd_u8(rd);
	r->mac = x1367_rd_bytes(rd, r->len);
	/* SNET/SADR names one device: never a broadcast, never net 0xFFFF. */
	if (is_source && (r->len == 0 || r->net == 0xFFFF))
		return 0;
	return x1367_rd_ok(rd) && r->net != 0;
}

static int read_npdu(const uint8_t *p, size_t len, struct bac_msg *m)
{
	struct x1367_reader rd;

	x1367_rd_init(&rd, p, len);
	uint8_t version = x1367_rd_u8(&rd);
	m->control = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd) || version != NPDU_VERSION || (m->control & 0x50))
		return 0;   /* bits 6 and 4 are reserved */
	if ((m->control & NPDU_DNET) && !read_route(&rd, &m->dst, 0))
		return 0;
	if ((m->control & NPDU_SNET) && !read_route(&rd, &m->src, 1))
		return 0;
	if (m->control & NPDU_DNET)
		x1367_rd_skip(&rd, 1);   /* hop count */
	if (m->control & NPDU_NETWORK_MSG) {
		uint8_t type = x1367_rd_u8(&rd);
		if (type >= 0x80)
			x1367_rd_skip(&rd, 2);   /* vendor id */
		m->apdu = NULL;
		return x1367_rd_ok(&rd);
	}
	if (!x1367_rd_ok(&rd) || x1367_rd_left(&rd) == 0)
		return 0;
	m->apdu = p + rd.pos;
	m->apdu_len = x1367_rd_left(&rd);
	return 1;
}

/* 1: a BVLL message (m filled); 0: no BACnet/IP datagram or cut short. */
static int read_msg(const uint8_t *data, size_t len, struct bac_msg *m)
{
	struct x1367_reader rd;

	memset(m, 0, sizeof(*m));
	x1367_rd_init(&rd, data, len);
	uint8_t type = x1367_rd_u8(&rd);
	m->function = x1367_rd_u8(&rd);
	uint16_t length = x1367_rd_be16(&rd);
	if (!x1367_rd_ok(&rd) || type != BVLC_TYPE_BIP || length < BVLC_HDR || length > len)
		return 0;
	x1367_rd_init(&rd, data, length);   /* bytes past the BVLC length are no message */
	x1367_rd_skip(&rd, BVLC_HDR);
	switch (m->function) {
	case BVLC_FORWARDED_NPDU: {
		const uint8_t *ip = x1367_rd_bytes(&rd, 4);
		m->orig_port = x1367_rd_be16(&rd);
		if (!ip)
			return 0;
		memcpy(m->orig_ip, ip, 4);
		m->forwarded = 1;
	}
		/* fall through */
	case BVLC_ORIGINAL_UNICAST:
	case BVLC_ORIGINAL_BROADCAST:
	case BVLC_DISTRIBUTE_BROADCAST:
		m->has_npdu = 1;
		return x1367_rd_ok(&rd) && read_npdu(data + rd.pos, x1367_rd_left(&rd), m);
	case BVLC_RESULT:
		m->bvlc_result = x1367_rd_be16(&rd);
		return x1367_rd_ok(&rd);
	case BVLC_WRITE_BDT:
	case BVLC_READ_BDT:
	case BVLC_READ_BDT_ACK:
	case BVLC_REGISTER_FD:
	case BVLC_READ_FDT:
	case BVLC_READ_FDT_ACK:
	case BVLC_DELETE_FDT_ENTRY:
	case BVLC_SECURE_BVLL:
		return 1;
	default:
		return 0;
	}
}

/* 1 when the APDU's fixed header is all there. */
static int read_apdu(const uint8_t *p, size_t len, struct apdu *a)
{
	struct x1367_reader rd;

	memset(a, 0, sizeof(*a));
	x1367_rd_init(&rd, p, len);
	uint8_t b0 = x1367_rd_u8(&rd);
	a->type = b0 >> 4;
	a->flags = b0 & 0x0F;
	switch (a->type) {
	case PDU_CONFIRMED:
		x1367_rd_skip(&rd, 1);   /* max segments, max APDU accepted */
		/* fall through */
	case PDU_COMPLEX_ACK:
		a->invoke = x1367_rd_u8(&rd);
		if (a->flags & APDU_SEG) {
			a->seq = x1367_rd_u8(&rd);
			a->window = x1367_rd_u8(&rd);
		}
		a->service = x1367_rd_u8(&rd);
		break;
	case PDU_UNCONFIRMED:
		a->service = x1367_rd_u8(&rd);
		break;
	case PDU_SIMPLE_ACK:
	case PDU_ERROR:
		a->invoke = x1367_rd_u8(&rd);
		a->service = x1367_rd_u8(&rd);
		break;
	case PDU_SEGMENT_ACK:
		a->invoke = x1367_rd_u8(&rd);
		a->seq = x1367_rd_u8(&rd);
		a->window = x1367_rd_u8(&rd);
		break;
	case PDU_REJECT:
	case PDU_ABORT:
		a->invoke = x1367_rd_u8(&rd);
		a->reason = x1367_rd_u8(&rd);
		break;
	default:
		return 0;
	}
	if (!x1367_rd_ok(&rd))
		return 0;
	a->data = p + rd.pos;
	a->data_len = x1367_rd_left(&rd);
	return 1;
}

/* ---- tags (Clause 20.2.1) --------------------------------------------- */

struct tag {
	uint8_t number;
	uint8_t context;               /* context specific (else application) */
	uint8_t opening, closing;
	uint32_t len;
	const uint8_t *value;
};

static int read_tag(struct x1367_reader *rd, struct tag *t)
{
	uint8_t b = x1367_rd_u8(rd);
	uint8_t lvt = b & 0x07;

	memset(t, 0, sizeof(*t));
	t->number = b >> 4;
	t->context = (b & 0x08) != 0;
	if (t->number == 15)
		t->number = x1367_rd_u8(rd);
	if (t->context && lvt == 6) {
		t->opening = 1;
		return x1367_rd_ok(rd);
	}
	if (t->context && lvt == 7) {
		t->closing = 1;
		return x1367_rd_ok(rd);
	}
	if (!t->context && t->number == 1)
		return x1367_rd_ok(rd);   /* application boolean: the value is lvt */
	t->len = lvt;
	if (lvt == 5) {
		t->len = x1367_rd_u8(rd);
		if (t->len == 254)
			t->len = x1367_rd_be16(rd);
		else if (t->len == 255)
			t->len = x1367_rd_be32(rd);
	}
	t->value = x1367_rd_bytes(rd, t->len);
	return x1367_rd_ok(rd);
}

/* An unsigned or enumerated value of at most 4 bytes. */
static int tag_uint(const struct tag *t, uint32_t *v)
{
	if (t->opening || t->closing || t->len == 0 || t->len > 4)
		return 0;
	*v = 0;
	for (uint32_t i = 0; i < t->len; i++)
		*v = (*v << 8) | t->value[i];
	return 1;
}

static int is_ctx(const struct tag *t, uint8_t number)
{
	return t->context && !t->opening && !t->closing && t->number == number;
}

/* ---- what a request names --------------------------------------------- */

static void desc_object(struct x1367_desc *d, const struct tag *t)
{
	uint32_t id;

	if (t->len != 4 || !tag_uint(t, &id))
		return;
	desc_named(d, "Object Type", NAME(object_types, id >> 22), id >> 22);
	x1367_desc_add(d, "Object Instance", "%u", (unsigned)(id & 0x3FFFFF));
}

static void desc_property(struct x1367_desc *d, const struct tag *t)
{
	uint32_t id;

	if (tag_uint(t, &id))
		desc_named(d, "Property", NAME(properties, id), id);
}

static void desc_index(struct x1367_desc *d, const struct tag *t)
{
	uint32_t v;

	if (tag_uint(t, &v))
		x1367_desc_add(d, "Array Index", "%u", (unsigned)v);
}

enum svc {
	SVC_SUBSCRIBE_COV = 5, SVC_READ_FILE = 6, SVC_WRITE_FILE = 7, SVC_ADD_LIST = 8,
	SVC_REMOVE_LIST = 9, SVC_CREATE_OBJECT = 10, SVC_DELETE_OBJECT = 11, SVC_READ_PROPERTY = 12,
	SVC_READ_PROPERTY_MULTIPLE = 14, SVC_WRITE_PROPERTY = 15, SVC_WRITE_PROPERTY_MULTIPLE = 16,
	SVC_READ_RANGE = 26, SVC_SUBSCRIBE_COV_PROPERTY = 28,
};

/* The object (and property) a confirmed service's parameters start with:
 * up to the first few tags, each service by its own layout (Clause 15-16). */
static void desc_params(struct x1367_desc *d, uint8_t service, const uint8_t *p, size_t len)
{
	struct x1367_reader rd;
	struct tag t[4];
	int n = 0;

	x1367_rd_init(&rd, p, len);
	while (n < 4 && x1367_rd_left(&rd) > 0 && read_tag(&rd, &t[n]))
		n++;
	switch (service) {
	case SVC_READ_PROPERTY:
	case SVC_WRITE_PROPERTY:
	case SVC_READ_RANGE:
	case SVC_ADD_LIST:
	case SVC_REMOVE_LIST:
		if (n >= 1 && is_ctx(&t[0], 0))
			desc_object(d, &t[0]);
		if (n >= 2 && is_ctx(&t[1], 1))
			desc_property(d, &t[1]);
		if (n >= 3 && is_ctx(&t[2], 2))
			desc_index(d, &t[2]);
		break;
	case SVC_READ_PROPERTY_MULTIPLE:
	case SVC_WRITE_PROPERTY_MULTIPLE:
		/* the first object, and the first property of its list */
		if (n >= 1 && is_ctx(&t[0], 0))
			desc_object(d, &t[0]);
		if (n >= 3 && t[1].opening && t[1].number == 1 && is_ctx(&t[2], 0))
			desc_property(d, &t[2]);
		if (n >= 4 && is_ctx(&t[3], 1))
			desc_index(d, &t[3]);
		break;
	case SVC_SUBSCRIBE_COV:
	case SVC_SUBSCRIBE_COV_PROPERTY:
		if (n >= 2 && is_ctx(&t[1], 1))
			desc_object(d, &t[1]);
		break;
	case SVC_READ_FILE:
	case SVC_WRITE_FILE:
	case SVC_DELETE_OBJECT:
		if (n >= 1 && !t[0].context && t[0].number == 12)
			desc_object(d, &t[0]);
		break;
	case SVC_CREATE_OBJECT: {
		uint32_t type;
		if (n >= 2 && t[0].opening && t[0].number == 0) {
			if (is_ctx(&t[1], 1))
				desc_object(d, &t[1]);
			else if (is_ctx(&t[1], 0) && tag_uint(&t[1], &type))
				desc_named(d, "Object Type", NAME(object_types, type), type);
		}
		break;
	}
	default:
		break;
	}
}

static void desc_route(struct x1367_desc *d, const char *key, const struct route *r)
{
	char mac[2 * MAC_MAX + 1] = "";

	if (!r->present)
		return;
	for (size_t i = 0; i < r->len && i < MAC_MAX; i++)
		snprintf(mac + 2 * i, 3, "%02X", r->mac[i]);
	if (r->len == 0)
		x1367_desc_add(d, key, "network %u, broadcast", r->net);
	else
		x1367_desc_add(d, key, "network %u, MAC %s%s", r->net, mac, r->len > MAC_MAX ? "..." : "");
}

/* ---- devices named by an I-Am ----------------------------------------- */

struct device {
	struct x1367_addr addr;
	uint16_t port;
	uint16_t net;                  /* 0: on the B/IP network itself */
	uint8_t mac_len;
	uint8_t mac[MAC_MAX];
	uint32_t instance;
};

/* The one table the plugin keeps outside a flow: an I-Am is broadcast, or
 * sent on another flow than the requests to the device.  Reset by init;
 * the engine calls the plugin from its packet thread only. */
static struct device devices[DEV_MAX];
static size_t n_devices;

static int device_is(const struct device *dv, const struct x1367_addr *a, uint16_t port,
		     const struct route *r)
{
	uint16_t net = r->present ? r->net : 0;
	uint8_t mac_len = r->present ? r->len : 0;

	return dv->port == port && dv->addr.family == a->family &&
	       !memcmp(dv->addr.bytes, a->bytes, sizeof(a->bytes)) && dv->net == net &&
	       dv->mac_len == mac_len && (mac_len == 0 || !memcmp(dv->mac, r->mac, mac_len));
}

static struct device *device_find(const struct x1367_addr *a, uint16_t port, const struct route *r)
{
	if (r->present && r->len > MAC_MAX)
		return NULL;
	for (size_t i = 0; i < n_devices; i++)
		if (device_is(&devices[i], a, port, r))
			return &devices[i];
	return NULL;
}

static void device_learn(x1367_ctx *ctx, const struct x1367_addr *a, uint16_t port,
			 const struct route *r, uint32_t instance)
{
	struct device *dv = device_find(a, port, r);

	if (r->present && r->len > MAC_MAX)
		return;
	if (!dv) {
		if (n_devices == DEV_MAX) {
			api->event(ctx, EV_DEVICE_TABLE_FULL);
			return;
		}
		dv = &devices[n_devices++];
		memset(dv, 0, sizeof(*dv));
		dv->addr = *a;
		dv->port = port;
		if (r->present) {
			dv->net = r->net;
			dv->mac_len = r->len;
			memcpy(dv->mac, r->mac, r->len);
		}
	}
	dv->instance = instance;
}

/* ADDRESS[:PORT][#ID] (dissector.h): IP#instance once known, else the
 * BACnet address, IP:port, with #net:mac behind a router. */
static void uid_of(const struct x1367_addr *a, uint16_t port, const struct route *r, char *uid,
		   size_t len)
{
	char ip[64], mac[2 * MAC_MAX + 1] = "";
	const struct device *dv = device_find(a, port, r);

	api->format_addr(a, ip, sizeof(ip));
	if (dv) {
		snprintf(uid, len, "%s#%u", ip, (unsigned)dv->instance);
		return;
	}
	if (!r->present) {
		snprintf(uid, len, a->family == X1367_IPV6 ? "[%s]:%u" : "%s:%u", ip, port);
		return;
	}
	for (size_t i = 0; i < r->len && i < MAC_MAX; i++)
		snprintf(mac + 2 * i, 3, "%02X", r->mac[i]);
	snprintf(uid, len, a->family == X1367_IPV6 ? "[%s]:%u#%u:%s" : "%s:%u#%u:%s", ip, port, r->net,
		 mac);
}

static void on_i_am(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct bac_msg *m,
		    const struct apdu *a)
{
	struct x1367_reader rd;
	struct tag t;
	uint32_t id;
	struct x1367_addr orig = {.family = X1367_IPV4};

	x1367_rd_init(&rd, a->data, a->data_len);
	if (!read_tag(&rd, &t) || t.context || t.number != 12 || t.len != 4 || !tag_uint(&t, &id) ||
	    (id >> 22) != 8) {
		api->event(ctx, X1367_EV_MALFORMED);
		return;
	}
	api->event(ctx, EV_I_AM);
	if (m->forwarded) {
		/* relayed by a BBMD: the device is the originator it names */
		memcpy(orig.bytes, m->orig_ip, 4);
		device_learn(ctx, &orig, m->orig_port, &m->src, id & 0x3FFFFF);
		return;
	}
	device_learn(ctx, pkt->src, pkt->sport, &m->src, id & 0x3FFFFF);
}

/* ---- per flow: recent requests and segmented messages ------------------ */

struct recent {
	uint8_t used, answered;
	struct x1367_txn_key key;
	uint32_t hash;                 /* of the APDU */
};

struct segmented {
	uint8_t used, done;
	uint8_t dropped;               /* given up: its segments are ignored */
	uint8_t pdu;                   /* PDU_CONFIRMED or PDU_COMPLEX_ACK */
	struct x1367_txn_key key;      /* of the request the message belongs to */
	uint8_t next_seq;
	unsigned n;                    /* segments */
	size_t len, cap;
	uint8_t *buf;                  /* the service parameters, joined */
};

struct bac_state {
	struct recent recent[RECENT_MAX];
	unsigned recent_next;
	struct segmented seg[SEG_SLOTS];
};

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t route_hash(const struct route *r)
{
	uint8_t head[4] = {r->present, (uint8_t)(r->net >> 8), (uint8_t)r->net, r->len};
	uint32_t h = fnv(2166136261u, head, sizeof(head));

	return r->present ? fnv(h, r->mac, r->len) : h;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* side: the flow direction the request went; device/client: the routed
 * addresses of the device asked and of the client (request: DNET/DADR and
 * SNET/SADR; answer: SNET/SADR and DNET/DADR). */
static struct x1367_txn_key apdu_key(uint8_t side, uint8_t invoke, const struct route *device,
				     const struct route *client)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 11};

	k.id[0] = 'C';
	k.id[1] = side;
	k.id[2] = invoke;
	put32(k.id + 3, route_hash(device));
	put32(k.id + 7, route_hash(client));
	return k;
}

static int key_eq(const struct x1367_txn_key *a, const struct x1367_txn_key *b)
{
	return a->len == b->len && !memcmp(a->id, b->id, a->len);
}

static struct recent *recent_find(struct bac_state *st, const struct x1367_txn_key *k)
{
	for (size_t i = 0; i < RECENT_MAX; i++)
		if (st->recent[i].used && key_eq(&st->recent[i].key, k))
			return &st->recent[i];
	return NULL;
}

static void recent_put(struct bac_state *st, const struct x1367_txn_key *k, uint32_t hash)
{
	struct recent *r = recent_find(st, k);

	if (!r) {
		r = &st->recent[st->recent_next];
		st->recent_next = (st->recent_next + 1) % RECENT_MAX;
	}
	r->used = 1;
	r->answered = 0;
	r->key = *k;
	r->hash = hash;
}

/* Bytes of reassembly buffers held by every flow: the sensor-wide budget,
 * the one mutable global besides the I-Am table (PLUGINS.md, rule 1). */
static atomic_size_t seg_bytes_held;

static int seg_budget_take(size_t n)
{
	if (atomic_fetch_add(&seg_bytes_held, n) + n <= SEG_BUDGET_BYTES)
		return 1;
	atomic_fetch_sub(&seg_bytes_held, n);
	return 0;
}

static void seg_free(struct segmented *s)
{
	free(s->buf);
	atomic_fetch_sub(&seg_bytes_held, s->cap);
	memset(s, 0, sizeof(*s));
}

static struct segmented *seg_find(struct bac_state *st, uint8_t pdu, const struct x1367_txn_key *k)
{
	for (size_t i = 0; i < SEG_SLOTS; i++)
		if (st->seg[i].used && st->seg[i].pdu == pdu && key_eq(&st->seg[i].key, k))
			return &st->seg[i];
	return NULL;
}

/* A free slot, else one whose message is complete (the oldest kept). */
static struct segmented *seg_slot(struct bac_state *st)
{
	for (size_t i = 0; i < SEG_SLOTS; i++)
		if (!st->seg[i].used)
			return &st->seg[i];
	for (size_t i = 0; i < SEG_SLOTS; i++)
		if (st->seg[i].done) {
			seg_free(&st->seg[i]);
			return &st->seg[i];
		}
	return NULL;
}

static int seg_append(struct segmented *s, const uint8_t *p, size_t n)
{
	if (n > SEG_MAX_BYTES - s->len)
		return 0;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 2048;
		while (cap < s->len + n)
			cap *= 2;
		if (cap > SEG_MAX_BYTES)
			cap = SEG_MAX_BYTES;
		if (!seg_budget_take(cap - s->cap))
			return 0;
		uint8_t *buf = realloc(s->buf, cap);
		if (!buf) {
			atomic_fetch_sub(&seg_bytes_held, cap - s->cap);
			return 0;
		}
		s->buf = buf;
		s->cap = cap;
	}
	if (n)
		memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 1;
}

/* Give up a message: counted once, and its later segments are ignored
 * (the slot stays, empty, until its last segment or its answer). */
static void seg_give_up(x1367_ctx *ctx, struct bac_state *st, struct segmented *s,
			const struct apdu *a, const struct x1367_txn_key *k)
{
	api->event(ctx, EV_SEGMENT_DROPPED);
	if (s)
		seg_free(s);
	else if (!(s = seg_slot(st)))
		return;
	s->used = 1;
	s->dropped = 1;
	s->pdu = a->type;
	s->key = *k;
	if (!(a->flags & APDU_MOR))
		seg_free(s);
}

/* One segment of a segmented Confirmed-Request or ComplexACK.  1 when it
 * begins a message (its first segment, seen for the first time). */
static int seg_add(x1367_ctx *ctx, struct bac_state *st, const struct apdu *a,
		   const struct x1367_txn_key *k)
{
	struct segmented *s = seg_find(st, a->type, k);

	if (s && s->dropped) {
		if (!(a->flags & APDU_MOR))
			seg_free(s);
		return 0;
	}
	if (s && a->seq == (uint8_t)(s->next_seq - 1))
		return 0;                      /* the last segment again: a retransmission */
	if (!s || s->done) {
		if (a->seq != 0) {
			seg_give_up(ctx, st, NULL, a, k);   /* its first segment was not seen */
			return 0;
		}
		if (s)
			seg_free(s);               /* a new message with the same key */
		if (!(s = seg_slot(st))) {
			api->event(ctx, EV_SEGMENT_DROPPED);
			return 1;
		}
		s->used = 1;
		s->pdu = a->type;
		s->key = *k;
	} else if (a->seq != s->next_seq) {
		seg_give_up(ctx, st, s, a, k);     /* a segment missing */
		return 0;
	}
	/* (sequence numbers wrap: seq 0 after 255 continues the message) */
	if (!seg_append(s, a->data, a->data_len)) {
		seg_give_up(ctx, st, s, a, k);
		return s->n == 0;
	}
	s->n++;
	s->next_seq = (uint8_t)(a->seq + 1);
	if (!(a->flags & APDU_MOR)) {
		s->done = 1;
		api->event(ctx, EV_SEGMENTS_REASSEMBLED);
	}
	return s->n == 1;
}

/* ---- requests ---------------------------------------------------------- */

/* An open request with this key and these bytes (the ring forgot it). */
static int same_open(x1367_ctx *ctx, const struct x1367_txn_key *k, uint32_t hash)
{
	x1367_txn *txn = api->txn_find(ctx, k);
	size_t got = 0, wire = 0;
	const uint8_t *req;
	struct bac_msg m;

	if (!txn || !(req = api->txn_request(txn, &got, &wire)) || got != wire)
		return 0;
	return read_msg(req, got, &m) && m.apdu && fnv(2166136261u, m.apdu, m.apdu_len) == hash;
}

static void on_confirmed(x1367_ctx *ctx, struct bac_state *st, const struct x1367_packet *pkt,
			 const struct bac_msg *m, const struct apdu *a, const uint8_t *msg, size_t len)
{
	struct x1367_txn_key k = apdu_key(pkt->dir, a->invoke, &m->dst, &m->src);
	struct recent *r;
	uint32_t hash;

	/* A segmented request is opened at its first segment. */
	if ((a->flags & APDU_SEG) && !seg_add(ctx, st, a, &k))
		return;
	hash = fnv(2166136261u, m->apdu, m->apdu_len);
	r = recent_find(st, &k);
	if ((r && r->hash == hash && !r->answered) || (!r && same_open(ctx, &k, hash))) {
		/* A retry: the same request, whether still open or already
		 * reported unanswered. */
		api->event(ctx, X1367_EV_DUPLICATE_REQUEST);
		return;
	}
	recent_put(st, &k, hash);
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = k,
		.bytes = msg,
		.len = len,
	};
	api->txn_open(ctx, &req);
}

/* BBMD functions answered by a BVLC-Result or an ACK: scope FLOW, the
 * function and the side that asked.  A BBMD that does not answer a
 * foreign device's registration is seen again at its renewal: these
 * requests never yield "No Response" (X1367_TXN_NO_TIMEOUT). */
static struct x1367_txn_key bvlc_key(uint8_t side, uint8_t function)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 3, .id = {'B', side, function}};

	return k;
}

static void on_bvlc_request(x1367_ctx *ctx, const struct x1367_packet *pkt, uint8_t function,
			    const uint8_t *msg, size_t len)
{
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = bvlc_key(pkt->dir, function),
		.bytes = msg,
		.len = len,
		.flags = X1367_TXN_NO_TIMEOUT,
	};
	api->txn_open(ctx, &req);
}

/* ---- answers ----------------------------------------------------------- */

static void polled_heartbeat(x1367_ctx *ctx, const char *uid)
{
	if (X1367_HAS_FIELD(api, heartbeat_polled) && api->heartbeat_polled)
		api->heartbeat_polled(ctx, uid);
	else
		api->heartbeat(ctx, uid);
}

/* The stored request's service choice equals the answer's. */
static int service_fits(const x1367_txn *txn, const void *arg)
{
	size_t got = 0, wire = 0;
	const uint8_t *req = api->txn_request(txn, &got, &wire);
	struct bac_msg m;
	struct apdu a;

	if (!read_msg(req, got, &m) || !m.apdu || !read_apdu(m.apdu, m.apdu_len, &a))
		return 1;   /* cut at the cap: the key alone decides */
	return a.service == *(const uint8_t *)arg;
}

static x1367_txn *find_answered(x1367_ctx *ctx, struct bac_state *st, const struct x1367_txn_key *k,
				const struct apdu *a)
{
	struct recent *r = recent_find(st, k);
	x1367_txn *txn;
	int with_service = a->type == PDU_SIMPLE_ACK || a->type == PDU_COMPLEX_ACK ||
			   a->type == PDU_ERROR;

	if (r)
		r->answered = 1;
	if (with_service)
		txn = x1367_txn_find_fit(api, ctx, k, service_fits, &a->service, NULL);
	else
		txn = api->txn_find(ctx, k);
	if (txn)
		api->txn_answered(ctx, txn);
	return txn;
}

/* Error (Clause 18): error class and error code, two enumerated values,
 * possibly inside a [0] constructed error (the *-Error productions of
 * CreateObject, WritePropertyMultiple, the list services, ...). */
static int read_error(const struct apdu *a, uint32_t *cls, uint32_t *code)
{
	struct x1367_reader rd;
	struct tag t1, t2, t3;
	int constructed;

	x1367_rd_init(&rd, a->data, a->data_len);
	if (!read_tag(&rd, &t1))
		return 0;
	constructed = t1.opening && t1.number == 0;
	if (constructed && !read_tag(&rd, &t1))
		return 0;
	if (!read_tag(&rd, &t2))
		return 0;
	if (t1.context || t1.number != 9 || t2.context || t2.number != 9)
		return 0;
	/* a constructed error is whole only with its closing tag */
	if (constructed && (!read_tag(&rd, &t3) || !t3.closing || t3.number != 0))
		return 0;
	return tag_uint(&t1, cls) && tag_uint(&t2, code) && *cls <= 0xFFFF && *code <= 0xFFFF;
}

static void report(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct bac_msg *m,
		   const char *vendor, x1367_txn *txn, const uint8_t *msg, size_t len,
		   struct x1367_desc *d)
{
	char uid[64];
	struct x1367_report rep = {.struct_size = sizeof(rep)};

	uid_of(pkt->src, pkt->sport, &m->src, uid, sizeof(uid));
	rep.vendor_code = vendor;
	rep.txn = txn;
	rep.response = msg;
	rep.response_len = len;
	rep.responder_uid = uid;
	rep.desc = d->kv;
	rep.n_desc = d->n;
	api->report(ctx, &rep);
}

/* What an answer says when its request is unknown, or of the request's
 * segments when there were several. */
static void desc_answer(struct x1367_desc *d, struct bac_state *st, const struct apdu *a,
			const x1367_txn *txn, const struct x1367_txn_key *k)
{
	struct segmented *s = seg_find(st, PDU_CONFIRMED, k);

	if (!txn) {
		x1367_desc_add(d, "Invoke ID", "%u", a->invoke);
		if (a->type == PDU_ERROR)
			desc_named(d, "Service", NAME(confirmed_services, a->service), a->service);
	}
	if (s && s->done)
		x1367_desc_add(d, "Request Segments", "%u (%zu bytes reassembled)", s->n, s->len);
}

static void on_error_pdu(x1367_ctx *ctx, struct bac_state *st, const struct x1367_packet *pkt,
			 const struct bac_msg *m, const struct apdu *a, const uint8_t *msg,
			 size_t len)
{
	struct x1367_txn_key k = apdu_key((uint8_t)(1 - pkt->dir), a->invoke, &m->src, &m->dst);
	struct x1367_desc d = {.n = 0};
	char vendor[16];
	uint32_t cls = 0, code = 0;
	x1367_txn *txn;

	if (a->type == PDU_ABORT && !(a->flags & ABORT_SRV)) {
		/* The client aborts its own request: it ends it. */
		k = apdu_key(pkt->dir, a->invoke, &m->dst, &m->src);
		if ((txn = api->txn_find(ctx, &k)) != NULL)
			api->txn_answered(ctx, txn);
		txn = NULL;
		x1367_desc_add(&d, "Abort Sent By", "client");
		x1367_desc_add(&d, "Aborted", "the client's own request");
	} else {
		txn = find_answered(ctx, st, &k, a);
	}
	if (a->type == PDU_ERROR) {
		if (!read_error(a, &cls, &code)) {
			api->event(ctx, X1367_EV_MALFORMED);
			return;
		}
		snprintf(vendor, sizeof(vendor), "05%04X%04X", (unsigned)cls, (unsigned)code);
		desc_named(&d, "Error Class", NAME(error_classes, cls), cls);
		desc_named(&d, "BACnet Error Code", NAME(error_codes, code), code);
	} else if (a->type == PDU_REJECT) {
		snprintf(vendor, sizeof(vendor), "06%02X", a->reason);
		desc_named(&d, "Reject Reason", NAME(reject_reasons, a->reason), a->reason);
	} else {
		snprintf(vendor, sizeof(vendor), "07%02X", a->reason);
		desc_named(&d, "Abort Reason", NAME(abort_reasons, a->reason), a->reason);
		if (a->flags & ABORT_SRV)
			x1367_desc_add(&d, "Abort Sent By", "server");
	}
	desc_answer(&d, st, a, txn, &k);
	desc_route(&d, "BACnet Source", &m->src);
	report(ctx, pkt, m, vendor, txn, msg, len, &d);
	struct segmented *s = seg_find(st, PDU_CONFIRMED, &k);
	if (s)
		seg_free(s);
}

static void on_ack(x1367_ctx *ctx, struct bac_state *st, const struct x1367_packet *pkt,
		   const struct bac_msg *m, const struct apdu *a)
{
	struct x1367_txn_key k = apdu_key((uint8_t)(1 - pkt->dir), a->invoke, &m->src, &m->dst);
	struct segmented *s;
	char uid[64];

	/* A segmented answer answers with its first segment. */
	if (a->type == PDU_COMPLEX_ACK && (a->flags & APDU_SEG) && !seg_add(ctx, st, a, &k))
		return;
	if (!find_answered(ctx, st, &k, a))
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
	if ((s = seg_find(st, PDU_CONFIRMED, &k)) != NULL)
		seg_free(s);
	uid_of(pkt->src, pkt->sport, &m->src, uid, sizeof(uid));
	polled_heartbeat(ctx, uid);
}

/* BVLC-Result (J.2.1): 0 success, else the NAK of one BBMD function.  A
 * NAK is counted (bvlc_nak), not reported: it is how a node that is no
 * BBMD answers a BBMD function, the normal answer to a scanner's probe
 * (pcaps/public/bacnet_test.pcap), and DEFAULT-MAPPINGS names only the
 * Error, Reject and Abort PDUs as BACnet's errors. */
static void on_bvlc_result(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct bac_msg *m)
{
	static const uint8_t nak_of[] = {0, BVLC_WRITE_BDT, BVLC_READ_BDT, BVLC_REGISTER_FD,
					 BVLC_READ_FDT, BVLC_DELETE_FDT_ENTRY,
					 BVLC_DISTRIBUTE_BROADCAST};
	static const uint8_t acked[] = {BVLC_REGISTER_FD, BVLC_WRITE_BDT, BVLC_DELETE_FDT_ENTRY};
	uint8_t side = (uint8_t)(1 - pkt->dir);
	struct x1367_txn_key k;
	x1367_txn *txn = NULL;
	unsigned i = m->bvlc_result >> 4;

	if (m->bvlc_result == 0) {
		for (size_t j = 0; j < N_ELEMS(acked) && !txn; j++) {
			k = bvlc_key(side, acked[j]);
			txn = api->txn_find(ctx, &k);
		}
	} else {
		api->event(ctx, EV_BVLC_NAK);
		if ((m->bvlc_result & 0x0F) == 0 && i >= 1 && i < N_ELEMS(nak_of)) {
			k = bvlc_key(side, nak_of[i]);
			txn = api->txn_find(ctx, &k);
		}
	}
	if (txn)
		api->txn_answered(ctx, txn);
}

static void on_bvlc_ack(x1367_ctx *ctx, const struct x1367_packet *pkt, uint8_t request)
{
	struct x1367_txn_key k = bvlc_key((uint8_t)(1 - pkt->dir), request);
	x1367_txn *txn = api->txn_find(ctx, &k);

	if (txn)
		api->txn_answered(ctx, txn);
}

/* ---- one datagram ------------------------------------------------------ */

static enum x1367_parse_result on_apdu(x1367_ctx *ctx, struct bac_state *st,
				       const struct x1367_packet *pkt, const struct bac_msg *m,
				       const uint8_t *msg, size_t len)
{
	struct apdu a;

	if (!read_apdu(m->apdu, m->apdu_len, &a)) {
		api->event(ctx, X1367_EV_MALFORMED);
		return X1367_PARSE_ERROR;
	}
	switch (a.type) {
	case PDU_CONFIRMED:
		on_confirmed(ctx, st, pkt, m, &a, msg, len);
		break;
	case PDU_UNCONFIRMED:
		if (a.service == SVC_I_AM)
			on_i_am(ctx, pkt, m, &a);
		break;
	case PDU_SIMPLE_ACK:
	case PDU_COMPLEX_ACK:
		on_ack(ctx, st, pkt, m, &a);
		break;
	case PDU_SEGMENT_ACK:
		break;   /* flow control of a segmented message: nothing to pair */
	default:
		on_error_pdu(ctx, st, pkt, m, &a, msg, len);
		break;
	}
	return X1367_PARSE_OK;
}

static enum x1367_parse_result bac_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					 const uint8_t *data, size_t len, size_t *consumed)
{
	struct bac_state *st = state;
	struct bac_msg m;

	*consumed = 0;   /* an ERROR skips (and counts) the whole datagram */
	if (len > 0 && data[0] == BVLC_TYPE_BIP6) {
		/* BACnet/IPv6 shares the port; its BVLL (virtual MAC addresses,
		 * address resolution) is another layer this plugin does not
		 * read: counted, never guessed at. */
		api->event(ctx, EV_BIP6);
		*consumed = len;
		return X1367_PARSE_OK;
	}
	if (!read_msg(data, len, &m)) {
		api->event(ctx, len >= BVLC_HDR && data[0] == BVLC_TYPE_BIP ? X1367_EV_MALFORMED
									     : EV_BAD_BVLC);
		return X1367_PARSE_ERROR;
	}
	*consumed = len;
	switch (m.function) {
	case BVLC_RESULT:
		on_bvlc_result(ctx, pkt, &m);
		return X1367_PARSE_OK;
	case BVLC_WRITE_BDT:
	case BVLC_READ_BDT:
	case BVLC_REGISTER_FD:
	case BVLC_READ_FDT:
	case BVLC_DELETE_FDT_ENTRY:
		on_bvlc_request(ctx, pkt, m.function, data, len);
		return X1367_PARSE_OK;
	case BVLC_READ_BDT_ACK:
		on_bvlc_ack(ctx, pkt, BVLC_READ_BDT);
		return X1367_PARSE_OK;
	case BVLC_READ_FDT_ACK:
		on_bvlc_ack(ctx, pkt, BVLC_READ_FDT);
		return X1367_PARSE_OK;
	case BVLC_SECURE_BVLL:
		api->event(ctx, EV_SECURE_BVLL);
		return X1367_PARSE_OK;
	default:
		break;
	}
	if (!m.apdu) {
		api->event(ctx, EV_NETWORK_MESSAGE);
		return X1367_PARSE_OK;
	}
	return on_apdu(ctx, st, pkt, &m, data, len);
}

/* ---- the descriptor ---------------------------------------------------- */

static enum x1367_probe_result bac_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	(void)dir;
	if (len == 0 || data[0] != BVLC_TYPE_BIP)
		return X1367_PROBE_NO;
	if (len < BVLC_HDR)
		return X1367_PROBE_MAYBE;
	if (data[1] > BVLC_SECURE_BVLL || (((size_t)data[2] << 8) | data[3]) != len)
		return X1367_PROBE_NO;
	return X1367_PROBE_YES;
}

static size_t bac_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			   struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct bac_msg m;
	struct apdu a;
	struct route none = {0};

	if (!read_msg(req->bytes, req->len, &m)) {
		uid_of(req->responder, req->responder_port, &none, uid, uid_len);
		return 0;
	}
	uid_of(req->responder, req->responder_port, &m.dst, uid, uid_len);
	if (!m.has_npdu) {
		x1367_desc_add(&d, "BVLC Function", "%u", m.function);
		return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
	}
	if (!m.apdu || !read_apdu(m.apdu, m.apdu_len, &a) || a.type != PDU_CONFIRMED)
		return 0;
	desc_named(&d, "Service", NAME(confirmed_services, a.service), a.service);
	desc_params(&d, a.service, a.data, a.data_len);
	x1367_desc_add(&d, "Invoke ID", "%u", a.invoke);
	if (a.flags & APDU_SEG)
		x1367_desc_add(&d, "Segmented", "yes");
	desc_route(&d, "BACnet Destination", &m.dst);
	desc_route(&d, "BACnet Requester", &m.src);
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

static void bac_flow_end(x1367_ctx *ctx, void *state)
{
	struct bac_state *st = state;

	(void)ctx;
	for (size_t i = 0; i < SEG_SLOTS; i++)
		if (st->seg[i].used)
			seg_free(&st->seg[i]);
}

static int bac_init(const struct x1367_engine_api *a)
{
	api = a;
	n_devices = 0;
	return 0;
}

static void bac_fini(void)
{
	n_devices = 0;
}

static const uint16_t bac_ports[] = {BAC_PORT, 0};

static const char *const bac_events[] = {
	EV_BAD_BVLC, EV_NETWORK_MESSAGE, EV_SEGMENT_DROPPED, EV_SEGMENTS_REASSEMBLED,
	EV_DEVICE_TABLE_FULL, EV_SECURE_BVLL, EV_I_AM, EV_BVLC_NAK, EV_BIP6, NULL,
};

static const struct x1367_dissector bac_dissector = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "bacnet",
	.protocol = "BACnet/IP",
	.transports = X1367_UDP,
	.ports = bac_ports,
	.ndpi_name = NULL,
	/* Clause 5.4: a client retries after APDU_Timeout (3 s by default) up
	 * to Number_Of_APDU_Retries (3): 10 s covers them, counted from the
	 * first transmission (a retry opens nothing). */
	.request_timeout_ms = 10000,
	.state_size = sizeof(struct bac_state),
	.init = bac_init,
	.fini = bac_fini,
	.probe = bac_probe,
	.parse = {
		[X1367_TO_SERVER] = bac_parse,
		[X1367_TO_CLIENT] = bac_parse,
	},
	.flow_end = bac_flow_end,
	.event_names = bac_events,
	.describe_request = bac_describe,
	.version = "1.0",
};

X1367_PLUGIN_EXPORT const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &bac_dissector;
}
