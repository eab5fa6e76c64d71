package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// A receipt (reset/retry.go) is its own item, "done#<of>", written in the
// transaction (or finish step) that completes a reset, and read when a
// completion finds its code or token gone. It holds a keyed hash, never a
// password, code or token. Its until is checked on every read: TTL
// (expires_at, the same time) only tidies up, late.

// receiptPut is the Put of done, as one item of a transaction. A later
// receipt of the same name replaces it.
func (s *Store) receiptPut(done reset.Receipt) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.tokens),
		Item: map[string]types.AttributeValue{
			attrPK:              &types.AttributeValueMemberS{Value: receiptKey(done.Of)},
			attrReceiptKeyID:    &types.AttributeValueMemberS{Value: done.KeyID},
			attrReceiptRecordID: &types.AttributeValueMemberS{Value: done.RecordID},
			attrReceiptMAC:      &types.AttributeValueMemberS{Value: done.MAC},
			attrReceiptUntil:    numberValue(unix(done.Until)),
			attrExpiresAt:       numberValue(unix(done.Until)),
		},
	}}
}

// withReceipt is items, and done's Put unless done is the zero Receipt.
func (s *Store) withReceipt(done reset.Receipt, items ...types.TransactWriteItem) []types.TransactWriteItem {
	if done == (reset.Receipt{}) {
		return items
	}
	return append(items, s.receiptPut(done))
}

// FindReceipt reads the receipt named of. ok is false when there is none,
// or when it is past its until, whatever TTL has done.
func (s *Store) FindReceipt(ctx context.Context, of string, now time.Time) (reset.Receipt, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tokens),
		Key:            keyOf(receiptKey(of)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return reset.Receipt{}, false, fmt.Errorf("get receipt: %w", err)
	}
	it := item(out.Item)
	// Rule: a receipt answers only within its window.
	if len(it) == 0 || !stillValid(it, attrReceiptUntil, now) {
		return reset.Receipt{}, false, nil
	}
	until, _ := it.num(attrReceiptUntil)
	return reset.Receipt{
		Of:       of,
		KeyID:    it.str(attrReceiptKeyID),
		RecordID: it.str(attrReceiptRecordID),
		MAC:      it.str(attrReceiptMAC),
		Until:    time.Unix(until, 0),
	}, true, nil
}
