"""The eight seed nets with 10 classes for Fashion-MNIST.

Six come from torchvision 0.14 as they are (torchvision.models.NAME with
num_classes=10, random init: nothing is downloaded). MobileNet v1 and
ShuffleNet v1 are not in torchvision and are defined here after the papers
and the same tables as lib/zoo/zoo.c.
"""

import torch
import torch.nn as nn
import torchvision

NETS = [
    "squeezenet1_0", "squeezenet1_1", "mobilenet_v1", "shufflenet_v1_g3",
    "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "shufflenet_v2_x1_0",
]
TORCHVISION = {
    "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_large",
    "mobilenet_v3_small", "shufflenet_v2_x1_0",
}


def conv_bn(cin, cout, k, stride, groups=1, relu=True):
    layers = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class MobileNetV1(nn.Module):
    """Howard et al. 2017, Table 1, width multiplier alpha (channels
    rounded to the nearest integer, as lib/zoo does)."""

    ROWS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1),
            (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, num_classes=10, alpha=1.0):
        super().__init__()
        c = round(32 * alpha)
        layers = [conv_bn(3, c, 3, 2)]
        for cout, s in self.ROWS:
            cout = round(cout * alpha)
            layers.append(conv_bn(c, c, 3, s, groups=c))    # depthwise
            layers.append(conv_bn(c, cout, 1, 1))           # pointwise
            c = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.fc(torch.flatten(x, 1))


def channel_shuffle(x, groups):
    # torchvision's shufflenetv2 idiom: reshape, transpose, reshape.
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(n, c, h, w)


class ShuffleUnitV1(nn.Module):
    """Zhang et al. 2017, Fig. 2 (b) stride 1 and (c) stride 2.

    1x1 group conv (bottleneck = out / 4) + BN + ReLU, channel shuffle,
    3x3 depthwise (stride) + BN, 1x1 group conv + BN. Stride 1: add the
    input, ReLU. Stride 2: the branch makes out - in channels, concatenated
    after a 3x3/2 average pool of the input, then ReLU.
    """

    def __init__(self, cin, cout, stride, groups, first_grouped):
        super().__init__()
        self.stride = stride
        self.groups = groups
        mid = cout // 4
        branch_out = cout - cin if stride == 2 else cout
        self.gconv1 = conv_bn(cin, mid, 1, 1, groups=groups if first_grouped else 1)
        self.dw = conv_bn(mid, mid, 3, stride, groups=mid, relu=False)
        self.gconv2 = conv_bn(mid, branch_out, 1, 1, groups=groups, relu=False)
        if stride == 2:
            self.pool = nn.AvgPool2d(3, 2, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.gconv1(x)
        if self.groups > 1:
            y = channel_shuffle(y, self.groups)
        y = self.gconv2(self.dw(y))
        if self.stride == 1:
            return self.relu(x + y)
        return self.relu(torch.cat([self.pool(x), y], 1))


class ShuffleNetV1(nn.Module):
    """ShuffleNet 1x, g = 3: stage outputs 240, 480, 960; 4, 8, 4 units."""

    CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960),
                4: (272, 544, 1088), 8: (384, 768, 1536)}
    REPEATS = (4, 8, 4)

    def __init__(self, num_classes=10, groups=3):
        super().__init__()
        self.conv1 = conv_bn(3, 24, 3, 2)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        units, c = [], 24
        for s, (cout, n) in enumerate(zip(self.CHANNELS[groups], self.REPEATS)):
            for u in range(n):
                # Stage 2's first 1x1 sees only 24 channels: not grouped.
                units.append(ShuffleUnitV1(c, cout, 2 if u == 0 else 1, groups,
                                           first_grouped=bool(s or u)))
                c = cout
        self.stages = nn.Sequential(*units)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.stages(self.maxpool(self.conv1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build(name, mnv1_alpha=1.0):
    if name in TORCHVISION:
        return getattr(torchvision.models, name)(num_classes=10)
    if name == "mobilenet_v1":
        return MobileNetV1(10, mnv1_alpha)
    if name == "shufflenet_v1_g3":
        return ShuffleNetV1(10, 3)
    raise ValueError(f"unknown net {name!r}; one of {', '.join(NETS)}")
