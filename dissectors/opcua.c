/*
 * OPC UA binary over UA TCP (OPC 10000-6, 7.1), TCP port 4840, built as a
 * plugin through the public ABI only.
 *
 * Framing.  Every message chunk starts with an 8-byte header: message type
 * (3 ASCII bytes: HEL ACK ERR RHE OPN CLO MSG), chunk type (F final, C
 * intermediate, A abort; only MSG may be C or A) and the chunk size, a
 * little-endian uint32 that counts the header.  HEL/ACK/ERR/RHE carry
 * their fields directly; OPN, CLO and MSG carry a security header (OPN:
 * channel id, security policy URI, sender certificate, receiver
 * thumbprint; CLO/MSG: channel id, token id), a sequence header (sequence
 * number, request id) and the body, a binary-encoded service request or
 * response whose first field is its type's NodeId.
 *
 * Chunks.  A MSG split into C chunks ends with an F (or an A: the sender
 * gave up; its body is an Error StatusCode and a reason).  The chunks of
 * one message are consecutive on the connection (OPC 10000-6 6.7.2.4):
 * the parser leaves them to the engine (NEED_MORE) until the final chunk
 * is there, then joins their bodies.  At most UA_CHUNKS_MAX chunks and
 * UA_MSG_MAX bytes are held; a longer message is judged from its head
 * (the ResponseHeader comes first; per-operation results cut off are not
 * read, counted as "message_truncated"), its further chunks skipped.
 *
 * Security.  An OPN whose security policy is not ...#None means the
 * channel signs or encrypts (the security mode itself travels inside the
 * encrypted OPN body, so Sign and SignAndEncrypt cannot be told apart on
 * the wire, and a Sign-only MSG would be readable but is not read: never
 * guess).  Such a flow is counted once ("encrypted_channel"); its OPN
 * exchange pairs (one request in flight, key without request id, which
 * the encryption hides) and an ERR is judged; MSG/CLO bodies are not
 * looked at ("encrypted_message").
 *
 * Errors reported (vendor code = the StatusCode, low 16 info bits cleared,
 * eight hex digits; rules/opcua.map names every code):
 *   - an ERR message: its Error field;
 *   - an Abort chunk from the server: its Error field;
 *   - a ServiceFault, or any response whose ResponseHeader ServiceResult
 *     is Bad (severity bit 31 set);
 *   - a response whose per-operation results hold Bad codes (Read, Write,
 *     Browse, Call, CreateMonitoredItems, ActivateSession): one record
 *     per response, the first Bad code, and all of them in Description.
 * Good and Uncertain codes are no error.
 *
 * Pairing (scope: the connection, which carries one secure channel):
 * secure channel id + RequestId of the sequence header; an OPN by its
 * RequestId alone (the answer carries the channel id the server just
 * assigned); HEL by ACK or ERR.  An ERR names no request: it answers the
 * client's last open one (the message that made the server give up).
 * Publish requests are held by the server until it has something to say
 * (OPC 10000-4 5.13.5): they are never "No Response".
 *
 * Unique IDs: the responder's IP address (one OPC UA server per host in
 * practice); the endpoint URL the client's HEL named goes into
 * Description.
 *
 * Detection: port 4840, and on any other port the probe: a connection
 * whose client speaks first with a HEL (protocol version 0, its size
 * matching its EndpointUrl, the URL "opc.*") is OPC UA whatever the port
 * (servers on 48010, 62541, 4855, ... are common).  The engine asks the
 * probe for flows no port claims (docs/ARCHITECTURE.md, detection).
 *
 * Not judged, on purpose: requests on an encrypted channel open no
 * transaction (their RequestId is encrypted too), so a server that dies
 * under SignAndEncrypt gives no "10"; a Reverse Hello (RHE) connection,
 * where the server dials out, is only counted ("reverse_hello"): the
 * engine's client/server sides are then the wrong way round.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x1367ids/dissector.h>

#define UA_PORT 4840
#define UA_HDR 8
#define UA_SIZE_MIN 8
#define UA_MSG_MAX (128u * 1024u)       /* bytes of one message held and joined */
#define UA_CHUNKS_MAX 64                 /* chunks of one message held */
#define UA_URL_MAX 128                   /* endpoint URL kept from HEL */
#define UA_TEXT_MAX 64                   /* a name copied into a record */
#define UA_DEPTH_MAX 4                   /* nesting of Variant/DiagnosticInfo */
#define UA_NODES_DESC 4                  /* node ids named per request */
#define UA_CODES_DESC 6                  /* bad codes named per response */

#define POLICY_NONE "http://opcfoundation.org/UA/SecurityPolicy#None"

#define EV_BAD_HEADER "bad_chunk_header"
#define EV_MALFORMED_BODY "malformed_body"
#define EV_WRONG_DIRECTION "wrong_direction"
#define EV_ENCRYPTED_CHANNEL "encrypted_channel"
#define EV_ENCRYPTED_MESSAGE "encrypted_message"
#define EV_TRUNCATED "message_truncated"
#define EV_CHUNKS_BROKEN "chunk_sequence_broken"
#define EV_CLIENT_ABORT "client_abort"
#define EV_REVERSE_HELLO "reverse_hello"
#define EV_UNKNOWN_SERVICE "unknown_service"
#define EV_FAULT_NOT_BAD "service_fault_not_bad"

enum ua_key_kind { K_MSG = 0, K_OPN_ENC = 1, K_HEL = 2, K_OPN = 3 };

static const struct x1367_engine_api *api;

struct ua_state {
	uint32_t skip[2];              /* rest of a chunk or message too big to hold */
	uint8_t resyncing[2];
	uint8_t drop_valid[2];         /* chunks of a message cut at UA_MSG_MAX: */
	uint32_t drop_rid[2];          /* the rest is skipped */
	uint8_t encrypted;             /* an OPN named a policy other than None */
	uint8_t last_valid;            /* the client's last request: what ERR answers */
	struct x1367_txn_key last_key;
	char url[UA_URL_MAX];          /* HEL EndpointUrl */
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Tables ------------------------------------------------------------ */

struct ua_code {
	uint32_t code;
	const char *name;
};

/* Opc.Ua.StatusCodes (as node-opcua 2.182 lists them), sorted by code. */
static const struct ua_code status_codes[] = {
	{0x00000000, "Good"},
	{0x00000480, "Good#InfoTypeDataValue|Overflow"},
	{0x002D0000, "GoodSubscriptionTransferred"},
	{0x002E0000, "GoodCompletesAsynchronously"},
	{0x002F0000, "GoodOverload"},
	{0x00300000, "GoodClamped"},
	{0x00960000, "GoodLocalOverride"},
	{0x00A20000, "GoodEntryInserted"},
	{0x00A30000, "GoodEntryReplaced"},
	{0x00A50000, "GoodNoData"},
	{0x00A60000, "GoodMoreData"},
	{0x00A70000, "GoodCommunicationEvent"},
	{0x00A80000, "GoodShutdownEvent"},
	{0x00A90000, "GoodCallAgain"},
	{0x00AA0000, "GoodNonCriticalTimeout"},
	{0x00BA0000, "GoodResultsMayBeIncomplete"},
	{0x00D90000, "GoodDataIgnored"},
	{0x00DC0000, "GoodEdited"},
	{0x00DD0000, "GoodPostActionFailed"},
	{0x00DF0000, "GoodRetransmissionQueueNotSupported"},
	{0x00E00000, "GoodDependentValueChanged"},
	{0x00EB0000, "GoodSubNormal"},
	{0x00EF0000, "GoodPasswordChangeRequired"},
	{0x01160000, "GoodEdited_DependentValueChanged"},
	{0x01170000, "GoodEdited_DominantValueChanged"},
	{0x01180000, "GoodEdited_DominantValueChanged_DependentValueChanged"},
	{0x04010000, "GoodCascadeInitializationAcknowledged"},
	{0x04020000, "GoodCascadeInitializationRequest"},
	{0x04030000, "GoodCascadeNotInvited"},
	{0x04040000, "GoodCascadeNotSelected"},
	{0x04070000, "GoodFaultStateActive"},
	{0x04080000, "GoodInitiateFaultState"},
	{0x04090000, "GoodCascade"},
	{0x40000000, "Uncertain"},
	{0x406C0000, "UncertainReferenceOutOfServer"},
	{0x408F0000, "UncertainNoCommunicationLastUsableValue"},
	{0x40900000, "UncertainLastUsableValue"},
	{0x40910000, "UncertainSubstituteValue"},
	{0x40920000, "UncertainInitialValue"},
	{0x40930000, "UncertainSensorNotAccurate"},
	{0x40940000, "UncertainEngineeringUnitsExceeded"},
	{0x40950000, "UncertainSubNormal"},
	{0x40A40000, "UncertainDataSubNormal"},
	{0x40BC0000, "UncertainReferenceNotDeleted"},
	{0x40C00000, "UncertainNotAllNodesAvailable"},
	{0x40DE0000, "UncertainDominantValueChanged"},
	{0x40E20000, "UncertainDependentValueChanged"},
	{0x40F20000, "UncertainOverRange"},
	{0x40F30000, "UncertainUnderRange"},
	{0x42080000, "UncertainTransducerInManual"},
	{0x42090000, "UncertainSimulatedValue"},
	{0x420A0000, "UncertainSensorCalibration"},
	{0x420F0000, "UncertainConfigurationError"},
	{0x80000000, "Bad"},
	{0x80010000, "BadUnexpectedError"},
	{0x80020000, "BadInternalError"},
	{0x80030000, "BadOutOfMemory"},
	{0x80040000, "BadResourceUnavailable"},
	{0x80050000, "BadCommunicationError"},
	{0x80060000, "BadEncodingError"},
	{0x80070000, "BadDecodingError"},
	{0x80080000, "BadEncodingLimitsExceeded"},
	{0x80090000, "BadUnknownResponse"},
	{0x800A0000, "BadTimeout"},
	{0x800B0000, "BadServiceUnsupported"},
	{0x800C0000, "BadShutdown"},
	{0x800D0000, "BadServerNotConnected"},
	{0x800E0000, "BadServerHalted"},
	{0x800F0000, "BadNothingToDo"},
	{0x80100000, "BadTooManyOperations"},
	{0x80110000, "BadDataTypeIdUnknown"},
	{0x80120000, "BadCertificateInvalid"},
	{0x80130000, "BadSecurityChecksFailed"},
	{0x80140000, "BadCertificateTimeInvalid"},
	{0x80150000, "BadCertificateIssuerTimeInvalid"},
	{0x80160000, "BadCertificateHostNameInvalid"},
	{0x80170000, "BadCertificateUriInvalid"},
	{0x80180000, "BadCertificateUseNotAllowed"},
	{0x80190000, "BadCertificateIssuerUseNotAllowed"},
	{0x801A0000, "BadCertificateUntrusted"},
	{0x801B0000, "BadCertificateRevocationUnknown"},
	{0x801C0000, "BadCertificateIssuerRevocationUnknown"},
	{0x801D0000, "BadCertificateRevoked"},
	{0x801E0000, "BadCertificateIssuerRevoked"},
	{0x801F0000, "BadUserAccessDenied"},
	{0x80200000, "BadIdentityTokenInvalid"},
	{0x80210000, "BadIdentityTokenRejected"},
	{0x80220000, "BadSecureChannelIdInvalid"},
	{0x80230000, "BadInvalidTimestamp"},
	{0x80240000, "BadNonceInvalid"},
	{0x80250000, "BadSessionIdInvalid"},
	{0x80260000, "BadSessionClosed"},
	{0x80270000, "BadSessionNotActivated"},
	{0x80280000, "BadSubscriptionIdInvalid"},
	{0x802A0000, "BadRequestHeaderInvalid"},
	{0x802B0000, "BadTimestampsToReturnInvalid"},
	{0x802C0000, "BadRequestCancelledByClient"},
	{0x80310000, "BadNoCommunication"},
	{0x80320000, "BadWaitingForInitialData"},
	{0x80330000, "BadNodeIdInvalid"},
	{0x80340000, "BadNodeIdUnknown"},
	{0x80350000, "BadAttributeIdInvalid"},
	{0x80360000, "BadIndexRangeInvalid"},
	{0x80370000, "BadIndexRangeNoData"},
	{0x80380000, "BadDataEncodingInvalid"},
	{0x80390000, "BadDataEncodingUnsupported"},
	{0x803A0000, "BadNotReadable"},
	{0x803B0000, "BadNotWritable"},
	{0x803C0000, "BadOutOfRange"},
	{0x803D0000, "BadNotSupported"},
	{0x803E0000, "BadNotFound"},
	{0x803F0000, "BadObjectDeleted"},
	{0x80400000, "BadNotImplemented"},
	{0x80410000, "BadMonitoringModeInvalid"},
	{0x80420000, "BadMonitoredItemIdInvalid"},
	{0x80430000, "BadMonitoredItemFilterInvalid"},
	{0x80440000, "BadMonitoredItemFilterUnsupported"},
	{0x80450000, "BadFilterNotAllowed"},
	{0x80460000, "BadStructureMissing"},
	{0x80470000, "BadEventFilterInvalid"},
	{0x80480000, "BadContentFilterInvalid"},
	{0x80490000, "BadFilterOperandInvalid"},
	{0x804A0000, "BadContinuationPointInvalid"},
	{0x804B0000, "BadNoContinuationPoints"},
	{0x804C0000, "BadReferenceTypeIdInvalid"},
	{0x804D0000, "BadBrowseDirectionInvalid"},
	{0x804E0000, "BadNodeNotInView"},
	{0x804F0000, "BadServerUriInvalid"},
	{0x80500000, "BadServerNameMissing"},
	{0x80510000, "BadDiscoveryUrlMissing"},
	{0x80520000, "BadSemaphoreFileMissing"},
	{0x80530000, "BadRequestTypeInvalid"},
	{0x80540000, "BadSecurityModeRejected"},
	{0x80550000, "BadSecurityPolicyRejected"},
	{0x80560000, "BadTooManySessions"},
	{0x80570000, "BadUserSignatureInvalid"},
	{0x80580000, "BadApplicationSignatureInvalid"},
	{0x80590000, "BadNoValidCertificates"},
	{0x805A0000, "BadRequestCancelledByRequest"},
	{0x805B0000, "BadParentNodeIdInvalid"},
	{0x805C0000, "BadReferenceNotAllowed"},
	{0x805D0000, "BadNodeIdRejected"},
	{0x805E0000, "BadNodeIdExists"},
	{0x805F0000, "BadNodeClassInvalid"},
	{0x80600000, "BadBrowseNameInvalid"},
	{0x80610000, "BadBrowseNameDuplicated"},
	{0x80620000, "BadNodeAttributesInvalid"},
	{0x80630000, "BadTypeDefinitionInvalid"},
	{0x80640000, "BadSourceNodeIdInvalid"},
	{0x80650000, "BadTargetNodeIdInvalid"},
	{0x80660000, "BadDuplicateReferenceNotAllowed"},
	{0x80670000, "BadInvalidSelfReference"},
	{0x80680000, "BadReferenceLocalOnly"},
	{0x80690000, "BadNoDeleteRights"},
	{0x806A0000, "BadServerIndexInvalid"},
	{0x806B0000, "BadViewIdUnknown"},
	{0x806D0000, "BadTooManyMatches"},
	{0x806E0000, "BadQueryTooComplex"},
	{0x806F0000, "BadNoMatch"},
	{0x80700000, "BadMaxAgeInvalid"},
	{0x80710000, "BadHistoryOperationInvalid"},
	{0x80720000, "BadHistoryOperationUnsupported"},
	{0x80730000, "BadWriteNotSupported"},
	{0x80740000, "BadTypeMismatch"},
	{0x80750000, "BadMethodInvalid"},
	{0x80760000, "BadArgumentsMissing"},
	{0x80770000, "BadTooManySubscriptions"},
	{0x80780000, "BadTooManyPublishRequests"},
	{0x80790000, "BadNoSubscription"},
	{0x807A0000, "BadSequenceNumberUnknown"},
	{0x807B0000, "BadMessageNotAvailable"},
	{0x807C0000, "BadInsufficientClientProfile"},
	{0x807D0000, "BadTcpServerTooBusy"},
	{0x807E0000, "BadTcpMessageTypeInvalid"},
	{0x807F0000, "BadTcpSecureChannelUnknown"},
	{0x80800000, "BadTcpMessageTooLarge"},
	{0x80810000, "BadTcpNotEnoughResources"},
	{0x80820000, "BadTcpInternalError"},
	{0x80830000, "BadTcpEndpointUrlInvalid"},
	{0x80840000, "BadRequestInterrupted"},
	{0x80850000, "BadRequestTimeout"},
	{0x80860000, "BadSecureChannelClosed"},
	{0x80870000, "BadSecureChannelTokenUnknown"},
	{0x80880000, "BadSequenceNumberInvalid"},
	{0x80890000, "BadConfigurationError"},
	{0x808A0000, "BadNotConnected"},
	{0x808B0000, "BadDeviceFailure"},
	{0x808C0000, "BadSensorFailure"},
	{0x808D0000, "BadOutOfService"},
	{0x808E0000, "BadDeadbandFilterInvalid"},
	{0x80970000, "BadRefreshInProgress"},
	{0x80980000, "BadConditionAlreadyDisabled"},
	{0x80990000, "BadConditionDisabled"},
	{0x809A0000, "BadEventIdUnknown"},
	{0x809B0000, "BadNoData"},
	{0x809D0000, "BadDataLost"},
	{0x809E0000, "BadDataUnavailable"},
	{0x809F0000, "BadEntryExists"},
	{0x80A00000, "BadNoEntryExists"},
	{0x80A10000, "BadTimestampNotSupported"},
	{0x80AB0000, "BadInvalidArgument"},
	{0x80AC0000, "BadConnectionRejected"},
	{0x80AD0000, "BadDisconnect"},
	{0x80AE0000, "BadConnectionClosed"},
	{0x80AF0000, "BadInvalidState"},
	{0x80B00000, "BadEndOfStream"},
	{0x80B10000, "BadNoDataAvailable"},
	{0x80B20000, "BadWaitingForResponse"},
	{0x80B30000, "BadOperationAbandoned"},
	{0x80B40000, "BadExpectedStreamToBlock"},
	{0x80B50000, "BadWouldBlock"},
	{0x80B60000, "BadSyntaxError"},
	{0x80B70000, "BadMaxConnectionsReached"},
	{0x80B80000, "BadRequestTooLarge"},
	{0x80B90000, "BadResponseTooLarge"},
	{0x80BB0000, "BadEventNotAcknowledgeable"},
	{0x80BD0000, "BadInvalidTimestampArgument"},
	{0x80BE0000, "BadProtocolVersionUnsupported"},
	{0x80BF0000, "BadStateNotActive"},
	{0x80C10000, "BadFilterOperatorInvalid"},
	{0x80C20000, "BadFilterOperatorUnsupported"},
	{0x80C30000, "BadFilterOperandCountMismatch"},
	{0x80C40000, "BadFilterElementInvalid"},
	{0x80C50000, "BadFilterLiteralInvalid"},
	{0x80C60000, "BadIdentityChangeNotSupported"},
	{0x80C80000, "BadNotTypeDefinition"},
	{0x80C90000, "BadViewTimestampInvalid"},
	{0x80CA0000, "BadViewParameterMismatch"},
	{0x80CB0000, "BadViewVersionInvalid"},
	{0x80CC0000, "BadConditionAlreadyEnabled"},
	{0x80CD0000, "BadDialogNotActive"},
	{0x80CE0000, "BadDialogResponseInvalid"},
	{0x80CF0000, "BadConditionBranchAlreadyAcked"},
	{0x80D00000, "BadConditionBranchAlreadyConfirmed"},
	{0x80D10000, "BadConditionAlreadyShelved"},
	{0x80D20000, "BadConditionNotShelved"},
	{0x80D30000, "BadShelvingTimeOutOfRange"},
	{0x80D40000, "BadAggregateListMismatch"},
	{0x80D50000, "BadAggregateNotSupported"},
	{0x80D60000, "BadAggregateInvalidInputs"},
	{0x80D70000, "BadBoundNotFound"},
	{0x80D80000, "BadBoundNotSupported"},
	{0x80DA0000, "BadAggregateConfigurationRejected"},
	{0x80DB0000, "BadTooManyMonitoredItems"},
	{0x80E10000, "BadDominantValueChanged"},
	{0x80E30000, "BadDependentValueChanged"},
	{0x80E40000, "BadRequestNotAllowed"},
	{0x80E50000, "BadTooManyArguments"},
	{0x80E60000, "BadSecurityModeInsufficient"},
	{0x80E70000, "BadDataSetIdInvalid"},
	{0x80E80000, "BadTransactionPending"},
	{0x80E90000, "BadLocked"},
	{0x80EA0000, "BadIndexRangeDataMismatch"},
	{0x80EC0000, "BadRequiresLock"},
	{0x80ED0000, "BadLocaleNotSupported"},
	{0x80EE0000, "BadServerTooBusy"},
	{0x80F00000, "BadNoValue"},
	{0x80F10000, "BadTransactionFailed"},
	{0x810D0000, "BadCertificateChainIncomplete"},
	{0x810E0000, "BadLicenseExpired"},
	{0x810F0000, "BadLicenseLimitsExceeded"},
	{0x81100000, "BadLicenseNotAvailable"},
	{0x81110000, "BadNotExecutable"},
	{0x81120000, "BadNumericOverflow"},
	{0x81130000, "BadRequestNotComplete"},
	{0x81140000, "BadCertificatePolicyCheckFailed"},
	{0x81150000, "BadAlreadyExists"},
	{0x81190000, "BadEdited_OutOfRange"},
	{0x811A0000, "BadInitialValue_OutOfRange"},
	{0x811B0000, "BadOutOfRange_DominantValueChanged"},
	{0x811C0000, "BadEdited_OutOfRange_DominantValueChanged"},
	{0x811D0000, "BadOutOfRange_DominantValueChanged_DependentValueChanged"},
	{0x811E0000, "BadEdited_OutOfRange_DominantValueChanged_DependentValueChanged"},
	{0x811F0000, "BadTicketRequired"},
	{0x81200000, "BadTicketInvalid"},
};

struct ua_service {
	uint32_t req, resp;            /* DefaultBinary encoding ids */
	const char *name;
};

/* Every service (OPC 10000-4), by the encoding ids of request and response. */
static const struct ua_service services[] = {
	{422, 425, "FindServers"},
	{428, 431, "GetEndpoints"},
	{437, 440, "RegisterServer"},
	{446, 449, "OpenSecureChannel"},
	{452, 455, "CloseSecureChannel"},
	{461, 464, "CreateSession"},
	{467, 470, "ActivateSession"},
	{473, 476, "CloseSession"},
	{479, 482, "Cancel"},
	{488, 491, "AddNodes"},
	{494, 497, "AddReferences"},
	{500, 503, "DeleteNodes"},
	{506, 509, "DeleteReferences"},
	{527, 530, "Browse"},
	{533, 536, "BrowseNext"},
	{554, 557, "TranslateBrowsePathsToNodeIds"},
	{560, 563, "RegisterNodes"},
	{566, 569, "UnregisterNodes"},
	{615, 618, "QueryFirst"},
	{621, 624, "QueryNext"},
	{631, 634, "Read"},
	{664, 667, "HistoryRead"},
	{673, 676, "Write"},
	{700, 703, "HistoryUpdate"},
	{712, 715, "Call"},
	{751, 754, "CreateMonitoredItems"},
	{763, 766, "ModifyMonitoredItems"},
	{769, 772, "SetMonitoringMode"},
	{775, 778, "SetTriggering"},
	{781, 784, "DeleteMonitoredItems"},
	{787, 790, "CreateSubscription"},
	{793, 796, "ModifySubscription"},
	{799, 802, "SetPublishingMode"},
	{826, 829, "Publish"},
	{832, 835, "Republish"},
	{841, 844, "TransferSubscriptions"},
	{847, 850, "DeleteSubscriptions"},
	{12208, 12209, "FindServersOnNetwork"},
	{12211, 12212, "RegisterServer2"},
};

enum {
	ID_SERVICE_FAULT = 397, ID_OPN_REQ = 446, ID_OPN_RESP = 449,
	ID_ACTIVATE_REQ = 467, ID_ACTIVATE_RESP = 470, ID_BROWSE_REQ = 527, ID_BROWSE_RESP = 530,
	ID_READ_REQ = 631, ID_READ_RESP = 634, ID_WRITE_REQ = 673, ID_WRITE_RESP = 676,
	ID_CALL_REQ = 712, ID_CALL_RESP = 715, ID_CMI_REQ = 751, ID_CMI_RESP = 754,
	ID_PUBLISH_REQ = 826,
	ID_BAD_USER_ACCESS_DENIED = 0x801F0000,
	ID_TOKEN_ANONYMOUS = 321, ID_TOKEN_USERNAME = 324, ID_TOKEN_X509 = 327, ID_TOKEN_ISSUED = 940,
};

static const char *status_name(uint32_t code)
{
	size_t lo = 0, hi = N_ELEMS(status_codes);
	code &= 0xFFFF0000u;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (status_codes[mid].code == code)
			return status_codes[mid].name;
		if (status_codes[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int is_bad(uint32_t code)
{
	return (code & 0x80000000u) != 0;
}

static const struct ua_service *service_by_req(uint32_t id)
{
	for (size_t i = 0; i < N_ELEMS(services); i++)
		if (services[i].req == id)
			return &services[i];
	return NULL;
}

static const struct ua_service *service_by_resp(uint32_t id)
{
	for (size_t i = 0; i < N_ELEMS(services); i++)
		if (services[i].resp == id)
			return &services[i];
	return NULL;
}

/* ---- Binary encoding readers (OPC 10000-6 5.2) --------------------------- */

static uint32_t rd_le32(struct x1367_reader *rd)
{
	const uint8_t *p = x1367_rd_bytes(rd, 4);
	return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
}

/* String / ByteString / XmlElement: Int32 length (-1 = null), bytes. */
struct span {
	const uint8_t *p;
	size_t n;
};

static int rd_string(struct x1367_reader *rd, struct span *s)
{
	int32_t n = (int32_t)rd_le32(rd);
	s->p = NULL;
	s->n = 0;
	if (!x1367_rd_ok(rd))
		return 0;
	if (n < 0)
		return 1;
	s->p = x1367_rd_bytes(rd, (size_t)n);
	s->n = s->p ? (size_t)n : 0;
	return s->p != NULL;
}

static void skip_string(struct x1367_reader *rd)
{
	struct span s;
	rd_string(rd, &s);
}

/* An array's length: -1 (null) reads as 0; more elements than bytes left
 * (every element is at least one byte) is malformed. */
static uint32_t rd_count(struct x1367_reader *rd)
{
	int32_t n = (int32_t)rd_le32(rd);
	if (!x1367_rd_ok(rd) || n < 0)
		return 0;
	if ((size_t)n > x1367_rd_left(rd)) {
		rd->error = 1;
		return 0;
	}
	return (uint32_t)n;
}

/* Text from the wire for a record: control bytes as \xHH, cut with "...". */
static void text_of(const struct span *s, char *out, size_t len)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		uint8_t c = s->p[i];
		size_t need = (c < 0x20 || c == 0x7F || c == '"' || c == '\\') ? 4 : 1;
		if (o + need + 4 > len || o >= UA_TEXT_MAX * 2) {
			snprintf(out + o, len - o, "...");
			return;
		}
		if (need == 4)
			o += (size_t)snprintf(out + o, len - o, "\\x%02X", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

struct nodeid {
	uint16_t ns;
	uint8_t kind;                  /* 'i' numeric, 's' string, 'g' guid, 'b' opaque */
	uint32_t num;
	struct span id;                /* string, guid or opaque bytes */
};

/* NodeId: encoding byte, then per encoding (two-byte, four-byte, numeric,
 * string, guid, bytestring).  The ExpandedNodeId flags (0x80 namespace
 * URI, 0x40 server index) are honoured when `expanded`. */
static int rd_nodeid_x(struct x1367_reader *rd, struct nodeid *n, int expanded)
{
	uint8_t enc = x1367_rd_u8(rd);
	memset(n, 0, sizeof(*n));
	n->kind = 'i';
	if (!expanded && (enc & 0xC0))
		rd->error = 1;
	switch (enc & 0x3F) {
	case 0: n->num = x1367_rd_u8(rd); break;
	case 1:
		n->ns = x1367_rd_u8(rd);
		n->num = x1367_rd_le16(rd);
		break;
	case 2:
		n->ns = x1367_rd_le16(rd);
		n->num = rd_le32(rd);
		break;
	case 3:
		n->ns = x1367_rd_le16(rd);
		n->kind = 's';
		rd_string(rd, &n->id);
		break;
	case 4:
		n->ns = x1367_rd_le16(rd);
		n->kind = 'g';
		n->id.p = x1367_rd_bytes(rd, 16);
		n->id.n = 16;
		break;
	case 5:
		n->ns = x1367_rd_le16(rd);
		n->kind = 'b';
		rd_string(rd, &n->id);
		break;
	default:
		rd->error = 1;
	}
	if (expanded && (enc & 0x80))
		skip_string(rd);
	if (expanded && (enc & 0x40))
		rd_le32(rd);
	return x1367_rd_ok(rd);
}

static int rd_nodeid(struct x1367_reader *rd, struct nodeid *n)
{
	return rd_nodeid_x(rd, n, 0);
}

/* "i=2258", "ns=2;s=Pump.Speed", "ns=1;g=...", "ns=3;b=0A0B". */
static void nodeid_text(const struct nodeid *n, char *out, size_t len)
{
	char ns[16] = "", v[UA_TEXT_MAX * 2 + 8];
	if (n->ns)
		snprintf(ns, sizeof(ns), "ns=%u;", n->ns);
	switch (n->kind) {
	case 's':
		text_of(&n->id, v, sizeof(v));
		snprintf(out, len, "%ss=%s", ns, v);
		return;
	case 'g':
	case 'b': {
		size_t o = 0;
		for (size_t i = 0; n->id.p && i < n->id.n && i < 32 && o + 3 < sizeof(v); i++)
			o += (size_t)snprintf(v + o, sizeof(v) - o, "%02X", n->id.p[i]);
		v[o] = '\0';
		snprintf(out, len, "%s%c=%s%s", ns, n->kind, v, n->id.n > 32 ? "..." : "");
		return;
	}
	default:
		snprintf(out, len, "%si=%u", ns, n->num);
	}
}

/* The type id of a body: a numeric NodeId of namespace 0 for every
 * standard service (anything else is no service this parser knows). */
static uint32_t rd_type_id(struct x1367_reader *rd)
{
	struct nodeid n;
	if (!rd_nodeid(rd, &n) || n.kind != 'i' || n.ns != 0)
		return 0;
	return n.num;
}

/* ExtensionObject: type NodeId, encoding byte (0 none, 1 ByteString body,
 * 2 XmlElement body). */
static void skip_extobj(struct x1367_reader *rd, uint32_t *type)
{
	struct nodeid n;
	rd_nodeid(rd, &n);
	if (type)
		*type = n.kind == 'i' && !n.ns ? n.num : 0;
	uint8_t enc = x1367_rd_u8(rd);
	if (enc == 1 || enc == 2)
		skip_string(rd);
	else if (enc != 0)
		rd->error = 1;
}

static void skip_qualified_name(struct x1367_reader *rd)
{
	x1367_rd_le16(rd);
	skip_string(rd);
}

static void skip_localized_text(struct x1367_reader *rd)
{
	uint8_t m = x1367_rd_u8(rd);
	if (m & 1)
		skip_string(rd);
	if (m & 2)
		skip_string(rd);
}

static void skip_diag(struct x1367_reader *rd, int depth)
{
	uint8_t m = x1367_rd_u8(rd);
	if (depth > UA_DEPTH_MAX) {
		rd->error = 1;
		return;
	}
	for (unsigned bit = 0; bit < 4; bit++)   /* symbolic id, ns uri, localized text, locale */
		if (m & (1u << bit))
			rd_le32(rd);
	if (m & 0x10)
		skip_string(rd);
	if (m & 0x20)
		rd_le32(rd);
	if (m & 0x40)
		skip_diag(rd, depth + 1);
}

static void skip_diag_array(struct x1367_reader *rd)
{
	uint32_t n = rd_count(rd);
	for (uint32_t i = 0; i < n && x1367_rd_ok(rd); i++)
		skip_diag(rd, 0);
}

static void skip_variant(struct x1367_reader *rd, int depth);
static void skip_datavalue(struct x1367_reader *rd, int depth, uint32_t *status);

/* One value of a built-in type (OPC 10000-6 5.1.2). */
static void skip_builtin(struct x1367_reader *rd, uint8_t type, int depth)
{
	static const uint8_t fixed[26] = {
		[1] = 1, [2] = 1, [3] = 1, [4] = 2, [5] = 2, [6] = 4, [7] = 4, [8] = 8, [9] = 8,
		[10] = 4, [11] = 8, [13] = 8, [14] = 16, [19] = 4,
	};
	struct nodeid n;
	if (type < N_ELEMS(fixed) && fixed[type]) {
		x1367_rd_skip(rd, fixed[type]);
		return;
	}
	switch (type) {
	case 12: case 15: case 16: skip_string(rd); break;
	case 17: rd_nodeid(rd, &n); break;
	case 18: rd_nodeid_x(rd, &n, 1); break;
	case 20: skip_qualified_name(rd); break;
	case 21: skip_localized_text(rd); break;
	case 22: skip_extobj(rd, NULL); break;
	case 23: skip_datavalue(rd, depth + 1, NULL); break;
	case 24: skip_variant(rd, depth + 1); break;
	case 25: skip_diag(rd, depth + 1); break;
	default: rd->error = 1;
	}
}

/* Variant: encoding byte (type in bits 0-5, 0x80 array, 0x40 dimensions). */
static void skip_variant(struct x1367_reader *rd, int depth)
{
	uint8_t m = x1367_rd_u8(rd);
	uint8_t type = m & 0x3F;
	if (depth > UA_DEPTH_MAX || !x1367_rd_ok(rd)) {
		rd->error = 1;
		return;
	}
	if (type == 0)                 /* null */
		return;
	if (!(m & 0x80)) {
		skip_builtin(rd, type, depth);
		return;
	}
	int32_t n = (int32_t)rd_le32(rd);
	/* Booleans and bytes are 1 byte each, nothing is smaller. */
	if (n > 0 && (size_t)n > x1367_rd_left(rd))
		rd->error = 1;
	for (int32_t i = 0; i < n && x1367_rd_ok(rd); i++)
		skip_builtin(rd, type, depth);
	if (m & 0x40) {
		uint32_t d = rd_count(rd);
		x1367_rd_skip(rd, (size_t)d * 4);
	}
}

/* DataValue: mask, value, status, source time, source ps, server time, server ps. */
static void skip_datavalue(struct x1367_reader *rd, int depth, uint32_t *status)
{
	uint8_t m = x1367_rd_u8(rd);
	if (status)
		*status = 0;
	if (m & 0x01)
		skip_variant(rd, depth);
	if (m & 0x02) {
		uint32_t s = rd_le32(rd);
		if (status)
			*status = s;
	}
	if (m & 0x04)
		x1367_rd_skip(rd, 8);
	if (m & 0x10)
		x1367_rd_skip(rd, 2);
	if (m & 0x08)
		x1367_rd_skip(rd, 8);
	if (m & 0x20)
		x1367_rd_skip(rd, 2);
}

/* RequestHeader: authentication token, timestamp, request handle,
 * return diagnostics, audit entry id, timeout hint, additional header. */
static int rd_request_header(struct x1367_reader *rd, uint32_t *handle)
{
	struct nodeid n;
	rd_nodeid(rd, &n);
	x1367_rd_skip(rd, 8);
	*handle = rd_le32(rd);
	rd_le32(rd);
	skip_string(rd);
	rd_le32(rd);
	skip_extobj(rd, NULL);
	return x1367_rd_ok(rd);
}

/* ResponseHeader: timestamp, request handle, service result, service
 * diagnostics, string table, additional header. */
static int rd_response_header(struct x1367_reader *rd, uint32_t *handle, uint32_t *result)
{
	x1367_rd_skip(rd, 8);
	*handle = rd_le32(rd);
	*result = rd_le32(rd);
	skip_diag(rd, 0);
	uint32_t n = rd_count(rd);
	for (uint32_t i = 0; i < n && x1367_rd_ok(rd); i++)
		skip_string(rd);
	skip_extobj(rd, NULL);
	return x1367_rd_ok(rd);
}

/* ---- Per-operation results -------------------------------------------------- */

struct results {
	uint32_t total, nbad, first_bad;
	uint32_t codes[UA_CODES_DESC];
};

static void add_result(struct results *r, uint32_t code)
{
	if (is_bad(code)) {
		if (!r->nbad)
			r->first_bad = r->total;
		if (r->nbad < UA_CODES_DESC)
			r->codes[r->nbad] = code;
		r->nbad++;
	}
	r->total++;
}

static void skip_reference(struct x1367_reader *rd)
{
	struct nodeid n;
	rd_nodeid(rd, &n);                 /* reference type */
	x1367_rd_skip(rd, 1);              /* is forward */
	rd_nodeid_x(rd, &n, 1);            /* target */
	skip_qualified_name(rd);
	skip_localized_text(rd);
	rd_le32(rd);                       /* node class */
	rd_nodeid_x(rd, &n, 1);            /* type definition */
}

/* One element of a response's Results array: its StatusCode, the rest
 * skipped to reach the next. */
static uint32_t rd_result(struct x1367_reader *rd, uint32_t resp)
{
	uint32_t code = 0;
	switch (resp) {
	case ID_READ_RESP:
		skip_datavalue(rd, 0, &code);
		return code;
	case ID_BROWSE_RESP: {
		code = rd_le32(rd);
		skip_string(rd);               /* continuation point */
		uint32_t n = rd_count(rd);
		for (uint32_t i = 0; i < n && x1367_rd_ok(rd); i++)
			skip_reference(rd);
		return code;
	}
	case ID_CALL_RESP: {
		code = rd_le32(rd);
		uint32_t n = rd_count(rd);     /* input argument results */
		x1367_rd_skip(rd, (size_t)n * 4);
		skip_diag_array(rd);
		n = rd_count(rd);              /* output arguments */
		for (uint32_t i = 0; i < n && x1367_rd_ok(rd); i++)
			skip_variant(rd, 0);
		return code;
	}
	case ID_CMI_RESP:
		code = rd_le32(rd);
		x1367_rd_skip(rd, 4 + 8 + 4);  /* item id, sampling interval, queue size */
		skip_extobj(rd, NULL);         /* filter result */
		return code;
	default:                           /* Write, ActivateSession: StatusCode[] */
		return rd_le32(rd);
	}
}

static int has_results(uint32_t resp)
{
	return resp == ID_READ_RESP || resp == ID_WRITE_RESP || resp == ID_BROWSE_RESP ||
	       resp == ID_CALL_RESP || resp == ID_CMI_RESP || resp == ID_ACTIVATE_RESP;
}

/* Reads the Results array after the ResponseHeader.  0: the body ended
 * early (what was read is still in *r). */
static int rd_results(struct x1367_reader *rd, uint32_t resp, struct results *r)
{
	if (resp == ID_ACTIVATE_RESP)
		skip_string(rd);               /* server nonce */
	uint32_t n = rd_count(rd);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t code = rd_result(rd, resp);
		if (!x1367_rd_ok(rd))
			return 0;
		add_result(r, code);
	}
	return x1367_rd_ok(rd);
}

/* ---- What a request names ------------------------------------------------------ */

/* The node(s) of element i of a request's list, as text. */
static int rd_request_item(struct x1367_reader *rd, uint32_t req, char *out, size_t len)
{
	struct nodeid a, b;
	char ta[UA_TEXT_MAX * 2 + 40], tb[UA_TEXT_MAX * 2 + 40];
	switch (req) {
	case ID_READ_REQ:
		rd_nodeid(rd, &a);
		rd_le32(rd);                   /* attribute */
		skip_string(rd);               /* index range */
		skip_qualified_name(rd);       /* data encoding */
		break;
	case ID_WRITE_REQ:
		rd_nodeid(rd, &a);
		rd_le32(rd);
		skip_string(rd);
		skip_datavalue(rd, 0, NULL);
		break;
	case ID_BROWSE_REQ:
		rd_nodeid(rd, &a);
		rd_le32(rd);                   /* direction */
		rd_nodeid(rd, &b);             /* reference type */
		x1367_rd_skip(rd, 1 + 4 + 4);  /* include subtypes, class mask, result mask */
		break;
	case ID_CALL_REQ: {
		rd_nodeid(rd, &a);             /* object */
		rd_nodeid(rd, &b);             /* method */
		uint32_t n = rd_count(rd);
		for (uint32_t i = 0; i < n && x1367_rd_ok(rd); i++)
			skip_variant(rd, 0);
		if (!x1367_rd_ok(rd))
			return 0;
		nodeid_text(&a, ta, sizeof(ta));
		nodeid_text(&b, tb, sizeof(tb));
		/* Cut where it must: a node id is cut anyway past UA_TEXT_MAX. */
		int w = snprintf(out, len, "%.*s method %.*s", UA_TEXT_MAX + 16, ta, UA_TEXT_MAX + 16, tb);
		(void)w;
		return 1;
	}
	case ID_CMI_REQ:
		rd_nodeid(rd, &a);
		rd_le32(rd);
		skip_string(rd);
		skip_qualified_name(rd);
		rd_le32(rd);                   /* monitoring mode */
		x1367_rd_skip(rd, 4 + 8);      /* client handle, sampling interval */
		skip_extobj(rd, NULL);
		x1367_rd_skip(rd, 4 + 1);      /* queue size, discard oldest */
		break;
	default:
		return 0;
	}
	if (!x1367_rd_ok(rd))
		return 0;
	nodeid_text(&a, out, len);
	return 1;
}

static int lists_nodes(uint32_t req)
{
	return req == ID_READ_REQ || req == ID_WRITE_REQ || req == ID_BROWSE_REQ ||
	       req == ID_CALL_REQ || req == ID_CMI_REQ;
}

/* Positions the reader at the request's item list and returns its length. */
static uint32_t rd_request_list(struct x1367_reader *rd, uint32_t req)
{
	struct nodeid n;
	switch (req) {
	case ID_READ_REQ: x1367_rd_skip(rd, 8 + 4); break;      /* max age, timestamps */
	case ID_BROWSE_REQ:
		rd_nodeid(rd, &n);                              /* view id */
		x1367_rd_skip(rd, 8 + 4 + 4);                   /* view time, version, max refs */
		break;
	case ID_CMI_REQ: x1367_rd_skip(rd, 4 + 4); break;       /* subscription, timestamps */
	default: break;
	}
	return rd_count(rd);
}

/* Where a stored request's body starts: after the chunk header, security
 * header and sequence header.  0: not a plaintext MSG/OPN. */
static size_t body_offset(const uint8_t *p, size_t len)
{
	struct x1367_reader rd;
	struct span s;
	x1367_rd_init(&rd, p, len);
	const uint8_t *h = x1367_rd_bytes(&rd, UA_HDR);
	if (!h)
		return 0;
	if (!memcmp(h, "MSG", 3)) {
		x1367_rd_skip(&rd, 4 + 4 + 4 + 4);
	} else if (!memcmp(h, "OPN", 3)) {
		rd_le32(&rd);
		rd_string(&rd, &s);
		if (!x1367_rd_ok(&rd) || s.n != strlen(POLICY_NONE) || memcmp(s.p, POLICY_NONE, s.n))
			return 0;
		skip_string(&rd);
		skip_string(&rd);
		x1367_rd_skip(&rd, 8);
	} else {
		return 0;
	}
	return x1367_rd_ok(&rd) ? rd.pos : 0;
}

/* The first chunk of a stored request, cut to its own size. */
static size_t first_chunk_len(const uint8_t *p, size_t len)
{
	if (len < UA_HDR)
		return len;
	size_t size = (size_t)p[4] | (size_t)p[5] << 8 | (size_t)p[6] << 16 | (size_t)p[7] << 24;
	return size < len ? size : len;
}

/* The text of item `index` of a stored MSG request, or 0. */
static int request_item_text(const uint8_t *p, size_t len, uint32_t index, char *out, size_t olen)
{
	struct x1367_reader rd;
	uint32_t handle;
	len = first_chunk_len(p, len);
	size_t off = body_offset(p, len);
	if (!off)
		return 0;
	x1367_rd_init(&rd, p + off, len - off);
	uint32_t req = rd_type_id(&rd);
	if (!lists_nodes(req) || !rd_request_header(&rd, &handle))
		return 0;
	uint32_t n = rd_request_list(&rd, req);
	for (uint32_t i = 0; i < n && i <= index; i++)
		if (!rd_request_item(&rd, req, out, olen))
			return 0;
	return index < n;
}

static const char *token_name(uint32_t type)
{
	switch (type) {
	case ID_TOKEN_ANONYMOUS: return "Anonymous";
	case ID_TOKEN_USERNAME: return "UserName";
	case ID_TOKEN_X509: return "X509Certificate";
	case ID_TOKEN_ISSUED: return "IssuedToken";
	default: return NULL;
	}
}

/* ActivateSession: which identity the client offered, and the user name
 * (never the password, which follows, encrypted or not). */
static void desc_activate(struct x1367_desc *d, struct x1367_reader *rd)
{
	struct nodeid n;
	struct span s;
	char text[UA_TEXT_MAX * 2 + 8];
	skip_string(rd);                   /* client signature: algorithm */
	skip_string(rd);                   /*                   signature */
	uint32_t k = rd_count(rd);         /* software certificates */
	for (uint32_t i = 0; i < k && x1367_rd_ok(rd); i++) {
		skip_string(rd);
		skip_string(rd);
	}
	k = rd_count(rd);                  /* locale ids */
	for (uint32_t i = 0; i < k && x1367_rd_ok(rd); i++)
		skip_string(rd);
	rd_nodeid(rd, &n);
	uint8_t enc = x1367_rd_u8(rd);
	if (!x1367_rd_ok(rd))
		return;
	const char *name = n.kind == 'i' && !n.ns ? token_name(n.num) : NULL;
	x1367_desc_add(d, "Identity Token", "%s", name ? name : "unknown");
	if (enc != 1)
		return;
	rd_le32(rd);                       /* body length */
	if (!rd_string(rd, &s))            /* policy id */
		return;
	text_of(&s, text, sizeof(text));
	x1367_desc_add(d, "Identity Policy Id", "%s", text);
	if (name && n.num == ID_TOKEN_USERNAME && rd_string(rd, &s) && s.p) {
		text_of(&s, text, sizeof(text));
		x1367_desc_add(d, "User Name", "%s", text);
	}
}

/* Service, request handle, node ids of a plaintext MSG request. */
static void desc_msg_request(struct x1367_desc *d, const uint8_t *p, size_t len, size_t off)
{
	struct x1367_reader rd;
	uint32_t handle;
	char item[UA_TEXT_MAX * 4 + 64], list[400];
	x1367_rd_init(&rd, p + off, len - off);
	uint32_t req = rd_type_id(&rd);
	const struct ua_service *svc = service_by_req(req);
	if (!x1367_rd_ok(&rd))
		return;
	if (svc)
		x1367_desc_add(d, "Service", "%s", svc->name);
	else
		x1367_desc_add(d, "Service", "unknown (type i=%u)", req);
	if (!svc || !rd_request_header(&rd, &handle))
		return;
	x1367_desc_add(d, "Request Handle", "%u", handle);
	if (req == ID_ACTIVATE_REQ) {
		desc_activate(d, &rd);
		return;
	}
	if (!lists_nodes(req))
		return;
	uint32_t n = rd_request_list(&rd, req), got = 0;
	size_t o = 0;
	list[0] = '\0';
	for (uint32_t i = 0; i < n && i < UA_NODES_DESC; i++) {
		if (!rd_request_item(&rd, req, item, sizeof(item)))
			break;
		int w = snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", item);
		if (w < 0 || (size_t)w >= sizeof(list) - o)
			break;
		o += (size_t)w;
		got++;
	}
	if (got)
		x1367_desc_add(d, got == 1 ? "Node Id" : "Node Ids", "%s%s", list, got < n ? ", ..." : "");
	if (x1367_rd_ok(&rd) || got)
		x1367_desc_add(d, "Operations", "%u", n);
}

static size_t ua_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			  struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct x1367_reader rd;
	struct span s;
	char text[UA_URL_MAX * 2 + 8];
	size_t len = first_chunk_len(req->bytes, req->len);

	api->format_addr(req->responder, uid, uid_len);
	if (len < UA_HDR)
		return 0;
	x1367_rd_init(&rd, req->bytes + UA_HDR, len - UA_HDR);
	if (!memcmp(req->bytes, "HEL", 3)) {
		x1367_desc_add(&d, "Message", "HEL");
		x1367_rd_skip(&rd, 20);
		if (rd_string(&rd, &s) && s.p) {
			text_of(&s, text, sizeof(text));
			x1367_desc_add(&d, "Endpoint URL", "%s", text);
		}
	} else if (!memcmp(req->bytes, "OPN", 3)) {
		x1367_desc_add(&d, "Service", "OpenSecureChannel");
		rd_le32(&rd);
		if (rd_string(&rd, &s) && s.p) {
			text_of(&s, text, sizeof(text));
			x1367_desc_add(&d, "Security Policy", "%s", text);
		}
	} else if (!memcmp(req->bytes, "MSG", 3)) {
		size_t off = body_offset(req->bytes, len);
		if (off)
			desc_msg_request(&d, req->bytes, len, off);
	}
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

/* ---- Requests and answers ------------------------------------------------------- */

static struct x1367_txn_key txn_key(enum ua_key_kind kind, uint32_t chan, uint32_t rid)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 9};
	k.id[0] = (uint8_t)kind;
	for (int i = 0; i < 4; i++) {
		k.id[1 + i] = (uint8_t)(chan >> (8 * i));
		k.id[5 + i] = (uint8_t)(rid >> (8 * i));
	}
	return k;
}

static void malformed(x1367_ctx *ctx)
{
	api->event(ctx, EV_MALFORMED_BODY);
	api->event(ctx, X1367_EV_MALFORMED);
}

static void open_request(x1367_ctx *ctx, struct ua_state *st, const uint8_t *bytes, size_t len,
			 struct x1367_txn_key key, uint32_t flags)
{
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = key,
		.bytes = bytes,
		.len = len,
		.flags = flags,
	};
	api->txn_open(ctx, &req);
	st->last_valid = 1;
	st->last_key = key;
}

/* The newest open request with `key`: an ERR answers the last message. */
static x1367_txn *newest_request(x1367_ctx *ctx, const struct x1367_txn_key *key)
{
	x1367_txn *txn = api->txn_find(ctx, key), *next;
	for (unsigned n = 1; txn && n < X1367_TXN_TRY_MAX; n++) {
		if (!(next = x1367_txn_next(api, ctx, key, txn)))
			break;
		txn = next;
	}
	return txn;
}

static x1367_txn *find_request(x1367_ctx *ctx, struct x1367_txn_key key)
{
	x1367_txn *txn = api->txn_find(ctx, &key);
	if (!txn)
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
	return txn;
}

static void answered(x1367_ctx *ctx, const struct x1367_packet *pkt, x1367_txn *txn)
{
	char uid[64];
	if (!txn)
		return;
	api->txn_answered(ctx, txn);
	api->format_addr(pkt->src, uid, sizeof(uid));
	if (X1367_HAS_FIELD(api, heartbeat_polled) && api->heartbeat_polled)
		api->heartbeat_polled(ctx, uid);
	else
		api->heartbeat(ctx, uid);
}

/* What one error answer says. */
struct verdict {
	const char *message;           /* "ERR", "ServiceFault", "ReadResponse", ... */
	const char *where;             /* "ServiceResult", "Results", NULL */
	uint32_t code;                 /* the StatusCode reported */
	const struct span *reason;     /* ERR / Abort reason */
	const struct results *res;     /* per-operation results, or NULL */
	uint16_t context;              /* low 16 bits of the vendor code: see below */
	int res_partial;               /* results cut with the message */
	int have_ids;
	uint32_t chan, rid, handle;
};

static void desc_codes(struct x1367_desc *d, const struct results *r, int partial)
{
	char list[400];
	size_t o = 0;
	list[0] = '\0';
	for (uint32_t i = 0; i < r->nbad && i < UA_CODES_DESC; i++) {
		const char *n = status_name(r->codes[i]);
		int w = n ? snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", n)
			  : snprintf(list + o, sizeof(list) - o, "%s0x%08X", o ? ", " : "", r->codes[i]);
		if (w < 0 || (size_t)w >= sizeof(list) - o)
			break;
		o += (size_t)w;
	}
	x1367_desc_add(d, "Bad Results", "%u of %u%s: %s%s", r->nbad, r->total,
		       partial ? " read (message cut)" : "", list, r->nbad > UA_CODES_DESC ? ", ..." : "");
	x1367_desc_add(d, "First Bad Index", "%u", r->first_bad);
}

static void report_error(x1367_ctx *ctx, const struct ua_state *st, const struct x1367_packet *pkt,
			 const uint8_t *bytes, size_t len, x1367_txn *txn, const struct verdict *v)
{
	struct x1367_desc d = {.n = 0};
	char vendor[12], uid[64], text[UA_URL_MAX * 2 + 8];
	const char *name = status_name(v->code);

	x1367_desc_add(&d, "Response", "%s%s%s", v->message, v->where ? " " : "", v->where ? v->where : "");
	x1367_desc_add(&d, "StatusCode", "%s (0x%08X)", name ? name : "unknown", v->code);
	if (v->res) {
		desc_codes(&d, v->res, v->res_partial);
		size_t got = 0, wire = 0;
		const uint8_t *req = txn ? api->txn_request(txn, &got, &wire) : NULL;
		if (req && request_item_text(req, got, v->res->first_bad, text, sizeof(text)))
			x1367_desc_add(&d, "First Bad Node Id", "%s", text);
	}
	if (v->reason && v->reason->p) {
		text_of(v->reason, text, sizeof(text));
		x1367_desc_add(&d, "Reason", "%s", text);
	}
	if (v->have_ids) {
		x1367_desc_add(&d, "Secure Channel Id", "%u", v->chan);
		x1367_desc_add(&d, "Request Id", "%u", v->rid);
	}
	if (v->handle)
		x1367_desc_add(&d, "Request Handle", "%u", v->handle);
	if (st->url[0])
		x1367_desc_add(&d, "Endpoint URL", "%s", st->url);

	snprintf(vendor, sizeof(vendor), "%08X", (v->code & 0xFFFF0000u) | v->context);
	api->format_addr(pkt->src, uid, sizeof(uid));
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = vendor,
		.txn = txn,
		.response = bytes,
		.response_len = len,
		.responder_uid = uid,
		.desc = d.kv,
		.n_desc = d.n,
	};
	api->report(ctx, &rep);
}

/* One message, its chunks joined. */
struct ua_msg {
	const uint8_t *wire;           /* as on the wire, every chunk */
	size_t wire_len;
	char type[4];
	uint8_t last_chunk;            /* 'F' or 'A' (or 'C': cut at the limit) */
	const uint8_t *body;           /* after the sequence header */
	size_t body_len;
	int truncated;
	uint32_t chan, rid;
};

/* The type id of the request a transaction holds (0: unreadable). */
static uint32_t request_type(const x1367_txn *txn)
{
	struct x1367_reader rd;
	size_t got = 0, wire = 0;
	const uint8_t *req = txn ? api->txn_request(txn, &got, &wire) : NULL;
	size_t off = req ? body_offset(req, first_chunk_len(req, got)) : 0;
	if (!off)
		return 0;
	x1367_rd_init(&rd, req + off, first_chunk_len(req, got) - off);
	return rd_type_id(&rd);
}

/* BadUserAccessDenied means "no permission" (23) for an operation, but an
 * ActivateSession refused with it is a refused identity: servers answer
 * a wrong password with it (OPC 10000-4 5.6.3: they should not tell a
 * wrong password from an unknown user), so it is authentication (20).
 * That one code, in that one service, is reported with the low 16 bits
 * 01D3 (467, ActivateSession's request id): rules/opcua.map row 801F01D3. */
static uint16_t code_context(uint32_t code, uint32_t resp_type, const x1367_txn *txn)
{
	if ((code & 0xFFFF0000u) != ID_BAD_USER_ACCESS_DENIED)
		return 0;
	if (resp_type == ID_ACTIVATE_RESP ||
	    (resp_type == ID_SERVICE_FAULT && request_type(txn) == ID_ACTIVATE_REQ))
		return ID_ACTIVATE_REQ;
	return 0;
}

/* A response body: ServiceFault, or a response with a Bad ServiceResult
 * or Bad per-operation results. */
static void judge_response(x1367_ctx *ctx, const struct ua_state *st, const struct x1367_packet *pkt,
			   const struct ua_msg *m, x1367_txn *txn)
{
	struct x1367_reader rd;
	struct results res = {0, 0, 0, {0}};
	struct verdict v = {.have_ids = 1, .chan = m->chan, .rid = m->rid};
	uint32_t result;
	char msg[64];

	x1367_rd_init(&rd, m->body, m->body_len);
	uint32_t type = rd_type_id(&rd);
	const struct ua_service *svc = service_by_resp(type);
	if (!x1367_rd_ok(&rd)) {
		malformed(ctx);
		return;
	}
	if (type != ID_SERVICE_FAULT && !svc) {
		api->event(ctx, EV_UNKNOWN_SERVICE);
		return;
	}
	if (!rd_response_header(&rd, &v.handle, &result)) {
		if (m->truncated)
			api->event(ctx, EV_TRUNCATED);
		else
			malformed(ctx);
		return;
	}
	snprintf(msg, sizeof(msg), "%sResponse", svc ? svc->name : "");
	v.message = type == ID_SERVICE_FAULT ? "ServiceFault" : msg;
	if (type == ID_SERVICE_FAULT || is_bad(result)) {
		if (!is_bad(result)) {
			api->event(ctx, EV_FAULT_NOT_BAD);
			return;
		}
		v.where = type == ID_SERVICE_FAULT ? NULL : "ServiceResult";
		v.code = result;
		v.context = code_context(result, type, txn);
		report_error(ctx, st, pkt, m->wire, m->wire_len, txn, &v);
		return;
	}
	if (!has_results(type))
		return;
	int whole = rd_results(&rd, type, &res);
	if (!whole)
		api->event(ctx, m->truncated ? EV_TRUNCATED : EV_MALFORMED_BODY);
	if (!whole && !m->truncated)
		api->event(ctx, X1367_EV_MALFORMED);
	if (!res.nbad)
		return;
	v.where = "Results";
	v.code = res.codes[0];
	v.res = &res;
	v.res_partial = !whole;
	report_error(ctx, st, pkt, m->wire, m->wire_len, txn, &v);
}

static void on_hel(x1367_ctx *ctx, struct ua_state *st, const struct ua_msg *m)
{
	struct x1367_reader rd;
	struct span url;
	x1367_rd_init(&rd, m->wire + UA_HDR, m->wire_len - UA_HDR);
	x1367_rd_skip(&rd, 20);            /* version, buffer sizes, max message, max chunks */
	if (!rd_string(&rd, &url)) {
		malformed(ctx);
		return;
	}
	if (url.p)
		text_of(&url, st->url, sizeof(st->url));
	open_request(ctx, st, m->wire, m->wire_len, txn_key(K_HEL, 0, 0), 0);
}

/* ERR (or an Abort chunk): Error StatusCode, Reason string.  An ERR
 * answers the client's last open request. */
static void on_err(x1367_ctx *ctx, struct ua_state *st, const struct x1367_packet *pkt,
		   const struct ua_msg *m, const uint8_t *p, size_t n, x1367_txn *txn)
{
	struct x1367_reader rd;
	struct span reason;
	struct verdict v = {.message = m->type[0] == 'E' ? "ERR" : "Abort chunk"};
	x1367_rd_init(&rd, p, n);
	v.code = rd_le32(&rd);
	if (!rd_string(&rd, &reason)) {
		malformed(ctx);
		return;
	}
	if (m->type[0] == 'E') {
		txn = st->last_valid ? newest_request(ctx, &st->last_key) : NULL;
		if (!txn)
			api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
	} else {
		v.have_ids = 1;
		v.chan = m->chan;
		v.rid = m->rid;
	}
	v.reason = &reason;
	if (is_bad(v.code))
		report_error(ctx, st, pkt, m->wire, m->wire_len, txn, &v);
	else
		api->event(ctx, EV_FAULT_NOT_BAD);
	answered(ctx, pkt, txn);
}

/* OPN: channel id, security policy URI, sender certificate, receiver
 * thumbprint, then (readable only with policy None) the sequence header
 * and body. */
static void on_opn(x1367_ctx *ctx, struct ua_state *st, const struct x1367_packet *pkt,
		   struct ua_msg *m, enum x1367_dir dir)
{
	struct x1367_reader rd;
	struct span policy;
	x1367_rd_init(&rd, m->wire + UA_HDR, m->wire_len - UA_HDR);
	m->chan = rd_le32(&rd);
	rd_string(&rd, &policy);
	skip_string(&rd);
	skip_string(&rd);
	if (!x1367_rd_ok(&rd) || !policy.p) {
		malformed(ctx);
		return;
	}
	if (policy.n != strlen(POLICY_NONE) || memcmp(policy.p, POLICY_NONE, policy.n)) {
		if (!st->encrypted)
			api->event(ctx, EV_ENCRYPTED_CHANNEL);
		st->encrypted = 1;
		if (dir == X1367_TO_SERVER)
			open_request(ctx, st, m->wire, m->wire_len, txn_key(K_OPN_ENC, 0, 0), 0);
		else
			answered(ctx, pkt, find_request(ctx, txn_key(K_OPN_ENC, 0, 0)));
		return;
	}
	x1367_rd_skip(&rd, 4);             /* sequence number */
	m->rid = rd_le32(&rd);
	if (!x1367_rd_ok(&rd)) {
		malformed(ctx);
		return;
	}
	m->body = m->wire + UA_HDR + rd.pos;
	m->body_len = m->wire_len - UA_HDR - rd.pos;
	if (dir == X1367_TO_SERVER) {
		open_request(ctx, st, m->wire, m->wire_len, txn_key(K_OPN, 0, m->rid), 0);
		return;
	}
	x1367_txn *txn = find_request(ctx, txn_key(K_OPN, 0, m->rid));
	judge_response(ctx, st, pkt, m, txn);
	answered(ctx, pkt, txn);
}

static void on_msg(x1367_ctx *ctx, struct ua_state *st, const struct x1367_packet *pkt,
		   const struct ua_msg *m, enum x1367_dir dir)
{
	if (dir == X1367_TO_SERVER) {
		struct x1367_reader rd;
		if (m->last_chunk == 'A') {
			api->event(ctx, EV_CLIENT_ABORT);
			return;
		}
		if (m->type[0] == 'C')         /* CloseSecureChannel: no answer */
			return;
		x1367_rd_init(&rd, m->body, m->body_len);
		uint32_t type = rd_type_id(&rd);
		if (!x1367_rd_ok(&rd) || !service_by_req(type)) {
			api->event(ctx, x1367_rd_ok(&rd) ? EV_UNKNOWN_SERVICE : EV_MALFORMED_BODY);
			if (!x1367_rd_ok(&rd))
				api->event(ctx, X1367_EV_MALFORMED);
		}
		open_request(ctx, st, m->wire, m->wire_len, txn_key(K_MSG, m->chan, m->rid),
			     type == ID_PUBLISH_REQ ? X1367_TXN_NO_TIMEOUT : 0);
		return;
	}
	if (m->type[0] == 'C') {
		api->event(ctx, EV_WRONG_DIRECTION);
		return;
	}
	x1367_txn *txn = find_request(ctx, txn_key(K_MSG, m->chan, m->rid));
	if (m->last_chunk == 'A') {
		on_err(ctx, st, pkt, m, m->body, m->body_len, txn);
		return;
	}
	judge_response(ctx, st, pkt, m, txn);
	answered(ctx, pkt, txn);
}

static void on_message(x1367_ctx *ctx, struct ua_state *st, const struct x1367_packet *pkt,
		       struct ua_msg *m, enum x1367_dir dir)
{
	int from_client = dir == X1367_TO_SERVER;
	if (!memcmp(m->type, "HEL", 3)) {
		if (!from_client)
			api->event(ctx, EV_WRONG_DIRECTION);
		else
			on_hel(ctx, st, m);
	} else if (!memcmp(m->type, "ACK", 3)) {
		if (from_client)
			api->event(ctx, EV_WRONG_DIRECTION);
		else
			answered(ctx, pkt, find_request(ctx, txn_key(K_HEL, 0, 0)));
	} else if (!memcmp(m->type, "ERR", 3)) {
		if (from_client)
			api->event(ctx, EV_WRONG_DIRECTION);
		else
			on_err(ctx, st, pkt, m, m->wire + UA_HDR, m->wire_len - UA_HDR, NULL);
	} else if (!memcmp(m->type, "RHE", 3)) {
		api->event(ctx, EV_REVERSE_HELLO);
	} else if (!memcmp(m->type, "OPN", 3)) {
		on_opn(ctx, st, pkt, m, dir);
	} else if (st->encrypted) {
		api->event(ctx, EV_ENCRYPTED_MESSAGE);
	} else {
		on_msg(ctx, st, pkt, m, dir);
	}
}

/* ---- Framing ---------------------------------------------------------------------- */

struct chunk_hdr {
	char type[4];
	uint8_t chunk;
	uint32_t size;
};

enum hdr_verdict { HDR_OK, HDR_SHORT, HDR_BAD };

/* The least a chunk of each type holds after its 8-byte header. */
static size_t type_min(const char *t)
{
	if (!memcmp(t, "HEL", 3)) return 24;
	if (!memcmp(t, "ACK", 3)) return 20;
	if (!memcmp(t, "ERR", 3)) return 8;
	if (!memcmp(t, "RHE", 3)) return 8;
	if (!memcmp(t, "OPN", 3)) return 16;
	if (!memcmp(t, "MSG", 3) || !memcmp(t, "CLO", 3)) return 16;
	return 0;
}

static enum hdr_verdict hdr_read(const uint8_t *p, size_t len, struct chunk_hdr *h)
{
	if (len < UA_HDR) {
		/* A prefix of a known type is still possibly a header. */
		static const char *const types[] = {"HEL", "ACK", "ERR", "RHE", "OPN", "CLO", "MSG"};
		for (size_t i = 0; i < N_ELEMS(types); i++)
			if (!memcmp(p, types[i], len < 3 ? len : 3))
				return HDR_SHORT;
		return HDR_BAD;
	}
	memcpy(h->type, p, 3);
	h->type[3] = '\0';
	h->chunk = p[3];
	h->size = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	size_t min = type_min(h->type);
	if (!min || h->size < UA_HDR + min || h->size > 0x7FFFFFFFu)
		return HDR_BAD;
	int is_msg = !memcmp(h->type, "MSG", 3);
	if (h->chunk != 'F' && !(is_msg && (h->chunk == 'C' || h->chunk == 'A')))
		return HDR_BAD;
	return HDR_OK;
}

/* Channel id and request id of a MSG/CLO chunk (symmetric header). */
static void msg_ids(const uint8_t *p, uint32_t *chan, uint32_t *rid)
{
	*chan = (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 | (uint32_t)p[11] << 24;
	*rid = (uint32_t)p[20] | (uint32_t)p[21] << 8 | (uint32_t)p[22] << 16 | (uint32_t)p[23] << 24;
}

#define HEL_URL_OFF 32                  /* header, five UInt32, URL length */
#define MSG_HDR 24                      /* header, channel, token, sequence, request id */

static size_t resync_skip(const uint8_t *data, size_t len)
{
	struct chunk_hdr h;
	size_t p = 0;
	while (p < len && hdr_read(data + p, len - p, &h) == HDR_BAD)
		p++;
	return p;
}

static size_t framing_error(x1367_ctx *ctx, struct ua_state *st, const uint8_t *data, size_t len,
			    enum x1367_dir dir)
{
	if (!st->resyncing[dir]) {
		api->event(ctx, EV_BAD_HEADER);
		api->event(ctx, X1367_EV_MALFORMED);
		st->resyncing[dir] = 1;
	}
	size_t skip = resync_skip(data + 1, len - 1) + 1;
	if (skip < len)
		st->resyncing[dir] = 0;
	return skip;
}

/* A message of one chunk, at most UA_MSG_MAX of it held. */
static void one_chunk(x1367_ctx *ctx, struct ua_state *st, const struct x1367_packet *pkt,
		      const uint8_t *p, size_t n, const struct chunk_hdr *h, int truncated,
		      enum x1367_dir dir)
{
	struct ua_msg m = {.wire = p, .wire_len = n, .last_chunk = h->chunk, .truncated = truncated};
	memcpy(m.type, h->type, 4);
	if (truncated)
		api->event(ctx, EV_TRUNCATED);
	if (!memcmp(h->type, "MSG", 3) || !memcmp(h->type, "CLO", 3)) {
		msg_ids(p, &m.chan, &m.rid);
		m.body = p + MSG_HDR;
		m.body_len = n - MSG_HDR;
		if (h->chunk == 'C' && truncated) {   /* the head of a message too big to hold */
			st->drop_valid[dir] = 1;
			st->drop_rid[dir] = m.rid;
		}
	}
	on_message(ctx, st, pkt, &m, dir);
}

/* Consecutive MSG chunks of one request id from p: how many bytes up to
 * and including the final chunk (*end 1), or as far as can be held. */
struct group {
	size_t bytes, body;
	unsigned chunks;
	int end, broken, full;
};

static void scan_group(const uint8_t *p, size_t len, struct group *g)
{
	struct chunk_hdr h;
	uint32_t chan0, rid0, chan, rid;
	memset(g, 0, sizeof(*g));
	msg_ids(p, &chan0, &rid0);
	while (g->bytes < len) {
		enum hdr_verdict v = hdr_read(p + g->bytes, len - g->bytes, &h);
		if (v == HDR_SHORT)
			return;
		if (v == HDR_BAD || memcmp(h.type, "MSG", 3)) {
			g->broken = 1;
			return;
		}
		if (g->bytes + h.size > UA_MSG_MAX || g->chunks >= UA_CHUNKS_MAX) {
			g->full = 1;
			return;
		}
		if (len - g->bytes < h.size)
			return;
		msg_ids(p + g->bytes, &chan, &rid);
		if (chan != chan0 || rid != rid0) {
			g->broken = 1;
			return;
		}
		g->bytes += h.size;
		g->body += h.size - MSG_HDR;
		g->chunks++;
		if (h.chunk != 'C') {
			g->end = 1;
			return;
		}
	}
}

/* Joins the bodies of a group's chunks and hands the message on. */
static void join_group(x1367_ctx *ctx, struct ua_state *st, const struct x1367_packet *pkt,
		       const uint8_t *p, const struct group *g, enum x1367_dir dir)
{
	uint8_t *body = malloc(g->body ? g->body : 1);
	struct ua_msg m = {.wire = p, .wire_len = g->bytes, .type = "MSG", .truncated = !g->end};
	if (!body) {
		api->event(ctx, EV_TRUNCATED);
		return;
	}
	size_t off = 0, o = 0, last = 0;
	for (unsigned i = 0; i < g->chunks; i++) {
		size_t size = (size_t)p[off + 4] | (size_t)p[off + 5] << 8 | (size_t)p[off + 6] << 16 |
			      (size_t)p[off + 7] << 24;
		last = o;
		memcpy(body + o, p + off + MSG_HDR, size - MSG_HDR);
		o += size - MSG_HDR;
		m.last_chunk = p[off + 3];
		off += size;
	}
	msg_ids(p, &m.chan, &m.rid);
	/* An Abort chunk's body is its own: Error and Reason, not the
	 * continuation of the chunks before it. */
	m.body = m.last_chunk == 'A' ? body + last : body;
	m.body_len = m.last_chunk == 'A' ? o - last : o;
	if (m.truncated) {
		api->event(ctx, EV_TRUNCATED);
		st->drop_valid[dir] = 1;
		st->drop_rid[dir] = m.rid;
	}
	on_message(ctx, st, pkt, &m, dir);
	free(body);
}

/* A MSG chunk of a message already cut: skipped, up to its last. */
static int dropping(struct ua_state *st, const uint8_t *p, const struct chunk_hdr *h,
		    enum x1367_dir dir)
{
	uint32_t chan, rid;
	if (!st->drop_valid[dir] || memcmp(h->type, "MSG", 3))
		return 0;
	msg_ids(p, &chan, &rid);
	if (rid != st->drop_rid[dir]) {
		st->drop_valid[dir] = 0;
		return 0;
	}
	if (h->chunk != 'C')
		st->drop_valid[dir] = 0;
	return 1;
}

static enum x1367_parse_result parse_stream(x1367_ctx *ctx, struct ua_state *st,
					    const struct x1367_packet *pkt, const uint8_t *data,
					    size_t len, size_t *consumed, enum x1367_dir dir)
{
	size_t off = 0;

	if (st->skip[dir]) {
		off = len < st->skip[dir] ? len : st->skip[dir];
		st->skip[dir] -= (uint32_t)off;
	}
	if (off < len && st->resyncing[dir]) {
		off += resync_skip(data + off, len - off);
		if (off < len)
			st->resyncing[dir] = 0;
	}
	while (off < len) {
		struct chunk_hdr h;
		enum hdr_verdict v = hdr_read(data + off, len - off, &h);
		if (v == HDR_SHORT)
			break;
		if (v == HDR_BAD) {
			*consumed = off + framing_error(ctx, st, data + off, len - off, dir);
			return X1367_PARSE_ERROR;
		}
		size_t have = len - off;
		if (h.size > UA_MSG_MAX) {
			/* Judge the head, skip the rest as it comes. */
			if (have < UA_MSG_MAX)
				break;
			if (!dropping(st, data + off, &h, dir))
				one_chunk(ctx, st, pkt, data + off, UA_MSG_MAX, &h, 1, dir);
			off += UA_MSG_MAX;
			size_t rest = h.size - UA_MSG_MAX, now = len - off < rest ? len - off : rest;
			off += now;
			st->skip[dir] = (uint32_t)(rest - now);
			continue;
		}
		if (have < h.size)
			break;
		if (dropping(st, data + off, &h, dir)) {
			off += h.size;
			continue;
		}
		if (h.chunk == 'C' && !st->encrypted) {
			struct group g;
			scan_group(data + off, len - off, &g);
			if (g.end || (g.full && g.chunks)) {
				join_group(ctx, st, pkt, data + off, &g, dir);
				off += g.bytes;
				continue;
			}
			if (g.broken) {
				/* Another message before this one's final chunk. */
				api->event(ctx, EV_CHUNKS_BROKEN);
				off += g.bytes ? g.bytes : h.size;
				continue;
			}
			break;                     /* wait for the final chunk */
		}
		one_chunk(ctx, st, pkt, data + off, h.size, &h, 0, dir);
		off += h.size;
	}
	*consumed = off;
	return off < len ? X1367_PARSE_NEED_MORE : X1367_PARSE_OK;
}

static enum x1367_parse_result ua_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					const uint8_t *data, size_t len, size_t *consumed)
{
	struct ua_state none;
	struct ua_state *st = state;
	enum x1367_dir dir = pkt->dir == X1367_TO_CLIENT ? X1367_TO_CLIENT : X1367_TO_SERVER;

	if (!st) {
		memset(&none, 0, sizeof(none));
		st = &none;
	}
	return parse_stream(ctx, st, pkt, data, len, consumed, dir);
}

/* Lost bytes: the stream resumes anywhere inside a chunk. */
static void ua_gap(x1367_ctx *ctx, void *state, enum x1367_dir dir)
{
	struct ua_state *st = state;
	(void)ctx;
	if (st && (dir == X1367_TO_SERVER || dir == X1367_TO_CLIENT)) {
		st->resyncing[dir] = 1;
		st->skip[dir] = 0;
		st->drop_valid[dir] = 0;
	}
}

/* OPC UA on any port: a client's first bytes are a HEL, version 0, with
 * an endpoint URL "opc.tcp://..." (or null). */
static enum x1367_probe_result ua_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	static const char hel[] = "HELF";
	static const char scheme[] = "opc.";
	struct x1367_reader rd;

	if (dir != X1367_TO_SERVER)
		return X1367_PROBE_NO;
	if (memcmp(data, hel, len < 4 ? len : 4))
		return X1367_PROBE_NO;
	if (len < HEL_URL_OFF)
		return X1367_PROBE_MAYBE;
	x1367_rd_init(&rd, data + 4, len - 4);
	uint32_t size = rd_le32(&rd);
	uint32_t version = rd_le32(&rd);
	x1367_rd_skip(&rd, 16);                /* buffer sizes, max message, max chunks */
	int32_t url_len = (int32_t)rd_le32(&rd);
	if (size > 65535 || version != 0 || url_len < -1 || url_len > 4096 ||
	    size != (uint32_t)(HEL_URL_OFF + (url_len > 0 ? url_len : 0)))
		return X1367_PROBE_NO;
	size_t have = len - HEL_URL_OFF, want = url_len >= 4 ? 4 : 0;
	if (memcmp(data + HEL_URL_OFF, scheme, have < want ? have : want))
		return X1367_PROBE_NO;
	if (have < want)
		return X1367_PROBE_MAYBE;
	return X1367_PROBE_YES;
}

static int ua_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

static const uint16_t ua_ports[] = {UA_PORT, 0};

static const char *const ua_events[] = {
	EV_BAD_HEADER,
	EV_MALFORMED_BODY,
	EV_WRONG_DIRECTION,
	EV_ENCRYPTED_CHANNEL,
	EV_ENCRYPTED_MESSAGE,
	EV_TRUNCATED,
	EV_CHUNKS_BROKEN,
	EV_CLIENT_ABORT,
	EV_REVERSE_HELLO,
	EV_UNKNOWN_SERVICE,
	EV_FAULT_NOT_BAD,
	NULL,
};

static const struct x1367_dissector ua_dissector = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "opcua",
	.protocol = "OPC UA",
	.transports = X1367_TCP,
	.ports = ua_ports,
	.ndpi_name = NULL,
	.request_timeout_ms = 10000,
	.state_size = sizeof(struct ua_state),
	.init = ua_init,
	.probe = ua_probe,
	.parse = {
		[X1367_TO_SERVER] = ua_parse,
		[X1367_TO_CLIENT] = ua_parse,
	},
	.gap = ua_gap,
	.event_names = ua_events,
	.describe_request = ua_describe,
	.version = "1.0",
};

/* The header does not declare the entry point: say it here. */
__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &ua_dissector;
}
