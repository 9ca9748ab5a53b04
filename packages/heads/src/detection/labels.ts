/**
 * COCO-80 class names in mmdet's label order (`CocoDataset.CLASSES`, mmdet 2.11; label 0 = person)
 * and the matching COCO category ids (`cat_ids`, for COCO-format json results).
 */
export const COCO80_LABELS: readonly string[] = Object.freeze([
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
  'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
  'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
  'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
  'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
  'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
]);

/** COCO category id of each mmdet label (1–11, 13–25, 27, 28, 31–44, 46–65, 67, 70, 72–82, 84–90). */
export const COCO80_CATEGORY_IDS: readonly number[] = Object.freeze(
  [
    [1, 11],
    [13, 25],
    [27, 28],
    [31, 44],
    [46, 65],
    [67, 67],
    [70, 70],
    [72, 82],
    [84, 90],
  ].flatMap(([a, b]) => Array.from({ length: b! - a! + 1 }, (_, i) => a! + i)),
);
